"""The machine a benchmark runs on: CPU model, usable cores, load average, and
waiting for a quiet machine. Shared by benchmarks/throughput.py and
benchmarks/reproduce.py (this project's CPU machines have 2 cores shared with
other engineers' jobs, so every figure records the load it was taken under).

    from machine_load import cpu_model, usable_cores, load1, wait_for_quiet

    load, quiet = wait_for_quiet(max_load=2.5, max_wait=1200)   # before a measurement
"""

import os
import platform
import time


def cpu_model():
    """The CPU's model name (/proc/cpuinfo), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores():
    """Cores this process may run on (its affinity mask), as `nproc`."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_averages():
    """The 1-, 5- and 15-minute load averages, as a list (JSON-friendly)."""
    return list(os.getloadavg())


def load1():
    """The 1-minute load average."""
    return os.getloadavg()[0]


def wait_for_quiet(max_load, max_wait, interval=60, log=print):
    """Sleeps until the 1-minute load average is <= max_load or max_wait
    seconds have passed; returns (load, quiet)."""
    start = time.time()
    while True:
        load = load1()
        if load <= max_load:
            return load, True
        waited = time.time() - start
        if waited >= max_wait:
            log(f"  load {load:.2f} still above {max_load} after {waited:.0f} s; "
                "measuring anyway (figures marked busy)")
            return load, False
        log(f"  load {load:.2f} > {max_load}: waiting ({waited:.0f}/{max_wait} s)")
        time.sleep(min(interval, max(1, max_wait - waited)))
