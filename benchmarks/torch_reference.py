"""Reference: a plain PyTorch ResNet-32 training loop on CPU, in images per second.

NOT part of keras_lt. This is the yardstick of the CPU speed target of issue 7
("the fastest Keras backend as fast per image as a plain PyTorch ResNet-32
loop on the same machine"): the loop anybody would write from the LDAM-DRW /
IB / CDT / MFW reference code, with nothing tuned.

    python benchmarks/torch_reference.py                    # needs torch (CPU build)
    python benchmarks/torch_reference.py --json ref.json --channels-last

The network is the papers' ResNet-32 for CIFAR, the same architecture as
`keras_lt.models.resnet32` + a dense head: a 3x3 stem with 16 filters, three
stages of five basic blocks (16/32/64 filters, stride 2 at the start of the
2nd and 3rd), option-A shortcuts (subsample + zero-pad the new channels, no
weights), batch norm (momentum 0.1, eps 1e-5), global average pooling, a
10-way linear layer: 464,154 trainable weights, checked at start.

One step: forward, cross-entropy, backward, SGD (lr 0.1, momentum 0.9, weight
decay 2e-4) on one resident batch of 128 random 32x32x3 images (the speed of
a ResNet does not depend on the pixel values); `--augment` adds the recipe's
pad-4 / random-crop / flip to the timed step, done on the batch with torch
ops. Threads: `torch.set_num_threads(<usable cores>)` unless --threads says
otherwise. Timing: `--warmup` steps excluded, then `--rounds` rounds of
`--steps` steps; the median of the per-round step times (wall clock, and
process CPU time of all threads) is reported.

torch is not a dependency of keras_lt; install a CPU build in any venv
(`pip install torch==2.13.0` on this project's machines) and run this script
with that venv's python. benchmarks/throughput.py runs it for you
(`--torch-python`).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

EXPECTED_PARAMS = 464_154  # keras_lt.models.resnet32 + Dense(10), trainable weights


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--steps", type=int, default=5, help="steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: the usable cores)")
    parser.add_argument("--channels-last", action="store_true",
                        help="NHWC memory format (torch.channels_last) for model and batch")
    parser.add_argument("--augment", action="store_true",
                        help="pad-4 / random crop / flip the batch inside the timed step")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    return parser.parse_args(argv)


def usable_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def build_resnet32(num_classes=10):
    import torch
    from torch import nn
    import torch.nn.functional as F

    class BasicBlock(nn.Module):
        def __init__(self, in_planes, planes, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.stride = stride
            self.extra = planes - in_planes  # option A: zero-padded channels

        def shortcut(self, x):
            if self.stride == 1 and not self.extra:
                return x
            x = x[:, :, ::self.stride, ::self.stride]
            half = self.extra // 2
            return F.pad(x, (0, 0, 0, 0, half, self.extra - half))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class ResNet32(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            blocks, in_planes = [], 16
            for planes, stride in ((16, 1), (32, 2), (64, 2)):
                for i in range(5):
                    blocks.append(BasicBlock(in_planes, planes, stride if i == 0 else 1))
                    in_planes = planes
            self.blocks = nn.Sequential(*blocks)
            self.linear = nn.Linear(64, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight)

        def features(self, x):
            """The pooled 64-d penultimate features h (the input of `linear`)."""
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.blocks(out)
            return torch.flatten(F.adaptive_avg_pool2d(out, 1), 1)

        def forward(self, x):
            return self.linear(self.features(x))

    return ResNet32()


def pad_crop_flip(x, generator, pad=4):
    """The CIFAR augmentation on an NCHW batch: per image, a random crop of the
    4-pixel zero-padded image and a horizontal flip with probability 1/2."""
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None].expand(n, x.shape[1], h, w + 2 * pad)
    out = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :].expand(n, x.shape[1], h, w)
    out = out.gather(3, cols)
    flip = torch.rand(n, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], out.flip(3), out)


def main(argv=None):
    args = parse_args(argv)
    import torch
    from torch import nn

    threads = args.threads or usable_cores()
    torch.set_num_threads(threads)
    if args.threads == 1:
        torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    model = build_resnet32()
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if params != EXPECTED_PARAMS:
        raise SystemExit(f"ResNet-32 has {params} weights, expected {EXPECTED_PARAMS}.")
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    criterion = nn.CrossEntropyLoss()
    x = torch.randn(args.batch_size, 3, 32, 32, generator=generator).contiguous(memory_format=fmt)
    y = torch.randint(0, 10, (args.batch_size,), generator=generator)

    def step():
        inputs = x
        if args.augment:
            inputs = pad_crop_flip(x, generator).contiguous(memory_format=fmt)
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(inputs), y)
        loss.backward()
        optimizer.step()
        return loss.item()  # waits for the step, as Keras's train_on_batch does

    start = time.perf_counter()
    for _ in range(args.warmup):
        step()
    warmup_s = time.perf_counter() - start
    wall, cpu = [], []
    for _ in range(args.rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.steps):
            step()
        wall.append((time.perf_counter() - w0) / args.steps)
        cpu.append((time.process_time() - c0) / args.steps)
    step_s = statistics.median(wall)
    result = {
        "framework": "torch",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": threads,
        "interop_threads": torch.get_num_interop_threads(),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "channels_last": args.channels_last,
        "augment": args.augment,
        "params": params,
        "batch_size": args.batch_size,
        "warmup_steps": args.warmup,
        "warmup_s": warmup_s,
        "rounds": args.rounds,
        "steps": args.steps,
        "wall_ms": 1000 * step_s,
        "cpu_ms": 1000 * statistics.median(cpu),
        "spread": (max(wall) - min(wall)) / step_s,
        "images_per_s": args.batch_size / step_s,
        "load_avg": list(os.getloadavg()),
    }
    print(f"torch {torch.__version__} ResNet-32 ({params:,} weights), batch {args.batch_size}, "
          f"{threads} threads, {'NHWC' if args.channels_last else 'NCHW'}"
          f"{', augment' if args.augment else ''}: {result['wall_ms']:.1f} ms/step wall, "
          f"{result['cpu_ms']:.1f} ms CPU, {result['images_per_s']:.1f} images/s "
          f"(spread {result['spread']:.0%}, load {result['load_avg'][0]:.2f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
