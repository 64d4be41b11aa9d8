"""KerasTuner's distributed mode: one chief (the oracle), several workers (the trials).

Set with KerasTuner's own environment variables, the same command on every
process (keras_tuner/src/distribute/utils.py):

    KERASTUNER_TUNER_ID      "chief" on the chief; a unique id per worker ("tuner0", ...)
    KERASTUNER_ORACLE_IP     the chief's address (127.0.0.1 on one machine)
    KERASTUNER_ORACLE_PORT   a free port of the chief

The chief serves the oracle over gRPC and trains nothing; each worker asks it
for a trial, trains it (on its own devices, `--strategy`), reports the
result and asks again, until the oracle has no trial left. All processes
share the search `directory` (one machine, or a shared file system): the
oracle writes `trial_*/trial.json` there, the workers their checkpoints.

After the last trial:

    chief    writes the trials table and `search_end.json` (best trial id),
             then retrains the best configuration and tests it
    worker   waits for `search_end.json`, reads the trials back and computes
             the best trial itself, so every process reports the same one

Example (one machine, a chief and two workers):

    export KERASTUNER_ORACLE_IP=127.0.0.1 KERASTUNER_ORACLE_PORT=8000
    KERASTUNER_TUNER_ID=chief  keras-lt tune digits --method cdt --max-trials 8 &
    KERASTUNER_TUNER_ID=tuner0 keras-lt tune digits --method cdt --max-trials 8 &
    KERASTUNER_TUNER_ID=tuner1 keras-lt tune digits --method cdt --max-trials 8 &
"""

import json
import os
import time

from keras_lt.atomic_write import atomic_write_text

SEARCH_END_FILE = "search_end.json"
ROLES = ("standalone", "chief", "worker")


def search_role(environ=None):
    """"standalone", "chief" or "worker", from KerasTuner's environment variables."""
    env = os.environ if environ is None else environ
    if "KERASTUNER_ORACLE_IP" not in env:
        return "standalone"
    missing = [k for k in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID") if k not in env]
    if missing:
        raise ValueError(
            f"KERASTUNER_ORACLE_IP is set but {', '.join(missing)} is not: a distributed "
            "search needs KERASTUNER_TUNER_ID ('chief' or a worker id), "
            "KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT on every process."
        )
    return "chief" if "chief" in env["KERASTUNER_TUNER_ID"] else "worker"


def tuner_id(environ=None):
    env = os.environ if environ is None else environ
    return env.get("KERASTUNER_TUNER_ID", "tuner0")


def serve_oracle(tuner, poll_seconds=0.5, verbose=0):
    """Runs the chief: KerasTuner's oracle gRPC server, until every worker is done.

    The same as `tuner.search()` on a chief (keras_tuner's
    `oracle_chief.start_server`: the `OracleServicer` over the tuner's
    oracle, stopped once a worker was told to stop, no trial is running and
    every worker has left), polled every `poll_seconds` instead of every 20 s
    and with the server stopped on the way out. Falls back to
    `tuner.search()` if KerasTuner's layout differs from 1.4.
    """
    try:
        from concurrent import futures

        import grpc
        from keras_tuner.src import protos
        from keras_tuner.src.distribute import oracle_chief
    except ImportError:  # another KerasTuner layout: its own loop
        tuner.search(verbose=verbose)
        return
    tuner.oracle.verbose = verbose
    tuner.save()
    address = f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    servicer = oracle_chief.OracleServicer(tuner.oracle)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    if not server.add_insecure_port(address):
        raise RuntimeError(f"The chief could not listen on {address} (port in use?).")
    server.start()
    try:
        while not (servicer.stop_triggered and oracle_chief.exit_chief(tuner.oracle)):
            time.sleep(poll_seconds)
    finally:
        server.stop(grace=2.0)


def clear_search_end(project_dir):
    """Removes a previous `search_end.json` (the chief, before serving)."""
    path = os.path.join(os.fspath(project_dir), SEARCH_END_FILE)
    if os.path.exists(path):
        os.remove(path)


def mark_search_end(project_dir, summary):
    """Writes `search_end.json` (atomically): the search is over."""
    path = os.path.join(os.fspath(project_dir), SEARCH_END_FILE)
    text = json.dumps(dict(summary, ended=time.time()), indent=2, sort_keys=True) + "\n"
    return atomic_write_text(path, text)


def wait_for_search_end(project_dir, timeout=None, poll_seconds=0.5):
    """Waits until the chief has written `search_end.json`; returns its content.

    Raises TimeoutError after `timeout` seconds (None: wait as long as the
    other workers' trials take), RuntimeError if the chief's search ended in
    an error (e.g. every trial failed).
    """
    path = os.path.join(os.fspath(project_dir), SEARCH_END_FILE)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        if os.path.exists(path):
            try:
                with open(path) as f:
                    end = json.load(f)
            except ValueError:
                end = None  # written at this moment: read again
            if end is not None:
                if end.get("error"):
                    raise RuntimeError(f"The chief's search ended in an error: {end['error']}")
                return end
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(
                f"The chief did not finish the search within {timeout} s "
                f"(no {SEARCH_END_FILE} in {project_dir})."
            )
        time.sleep(poll_seconds)
