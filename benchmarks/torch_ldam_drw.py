"""Reference: LDAM-DRW trained by a plain PyTorch loop, to compare accuracies.

NOT part of keras_lt. When a keras_lt run falls short of a paper's figure
(issue 7), this script answers "is it keras_lt or the setting?": it trains
the same method on the same images with the loop of the LDAM-DRW reference
code (Cao et al. 2019, kaidic/LDAM-DRW `cifar_train.py`), rewritten here
from the facts in the paper and METHODS.md:

* ResNet-32, option-A shortcuts, kaiming-normal convolutions, batch norm
  (momentum 0.1, eps 1e-5), cosine head `NormedLinear` (features and class
  vectors L2-normalised, no bias; class vectors start uniform in [-1, 1]);
* LDAM loss: CE(s * (z - Delta_y onehot(y)), y), Delta_c = K / n_c^(1/4),
  max margin 0.5, s = 30; DRW: unweighted until `--drw-epoch`, then weights
  (1 - beta) / (1 - beta^n_c) normalised to sum C (beta 0.9999), a weighted
  batch averaged by the sum of its weights (`F.cross_entropy(weight=w)`);
* `torch.optim.SGD` over all parameters: lr 0.1, momentum 0.9, weight decay
  2e-4 (coupled), batch 128 with a partial last batch, shuffled each epoch;
  lr = 0.1 * (e + 1) / W for the warm-up epochs e < W, 0.1 * 0.01 from the
  first milestone, 0.1 * 0.0001 from the second (0-based epochs);
* pad 4 (zeros, before normalisation) + random 32x32 crop + horizontal flip,
  normalised with the reference's constants (0.4914, 0.4822, 0.4465) /
  (0.2023, 0.1994, 0.2010).

The training subset is keras_lt's (`keras_lt.data.load_long_tailed`, seeded
by `--seed` as the recipe seeds it), so both loops see the same images; only the
training code differs.
`--epochs E` shortens the 200-epoch schedule exactly as the keras_lt recipe
does (warm-up, milestones and DRW start at round(x * E / 200)).

    python benchmarks/torch_ldam_drw.py --data-dir .data/cifar10 --epochs 40 \
        --json runs/torch-ldam-drw-e40-s0.json

Test accuracy is measured after every epoch from the first milestone on (and
every 10 epochs before); the JSON has the last and the best epoch, and per
class accuracy of the last one. Needs torch (CPU build is fine) in the venv;
`--device cuda` trains on a GPU (the 200-epoch schedule in minutes there),
`--channels-last` is faster on CPU (NHWC, about 1.2x).

The full schedule takes about 3 hours of a 2-core CPU, more than one working
session: `--checkpoint FILE` saves the whole state (weights, momentum
buffers, the data/augmentation generator, the history) after every epoch,
atomically, and `--resume` continues from it. A resumed run sees the same
batches and crops as an uninterrupted one, so it ends where that one ends:

    python benchmarks/torch_ldam_drw.py --data-dir .data/cifar10 --channels-last \
        --checkpoint runs/torch-ldam-drw-e200-s0.pt --resume --json runs/torch-ldam-drw-e200-s0.json
"""

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from torch_reference import build_resnet32, pad_crop_flip, usable_cores  # noqa: E402

MEAN = (0.4914, 0.4822, 0.4465)  # the reference code's Normalize constants
STD = (0.2023, 0.1994, 0.2010)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="CIFAR-10 image folder (train/, test/)")
    parser.add_argument("--imbalance", default="exp", choices=("exp", "step"))
    parser.add_argument("--ratio", type=float, default=100.0)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu",
                        help='torch device of the model ("cpu", "cuda"); batches are '
                             "augmented on the CPU and moved there")
    parser.add_argument("--max-margin", type=float, default=0.5)
    parser.add_argument("--scale", type=float, default=30.0)
    parser.add_argument("--beta", type=float, default=0.9999)
    parser.add_argument("--channels-last", action="store_true",
                        help="NHWC memory format for the model and batches (faster on CPU)")
    parser.add_argument("--checkpoint", default=None,
                        help="save the training state to this file after every epoch")
    parser.add_argument("--resume", action="store_true",
                        help="continue from --checkpoint if it exists (same settings only)")
    parser.add_argument("--stop-after-epoch", type=int, default=None,
                        help="end this invocation after that epoch (with --checkpoint: "
                             "continue later with --resume), e.g. to fit a session")
    parser.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args(argv)
    if (args.resume or args.stop_after_epoch) and not args.checkpoint:
        parser.error("--resume and --stop-after-epoch need --checkpoint FILE")
    return args


# The arguments that define the run: a checkpoint resumes only under the same ones.
RUN_SETTINGS = ("imbalance", "ratio", "epochs", "batch_size", "lr", "seed", "max_margin",
                "scale", "beta")


def save_checkpoint(path, state):
    """Writes `state` (a dict of tensors and plain values) atomically to `path`."""
    import torch

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path, args):
    """The saved state of `path`, or None; refuses one saved under other settings."""
    import torch

    if not os.path.exists(path):
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    saved = state["settings"]
    wanted = {name: getattr(args, name) for name in RUN_SETTINGS}
    if saved != wanted:
        changed = {k: (saved.get(k), v) for k, v in wanted.items() if saved.get(k) != v}
        raise SystemExit(f"{path} was saved with other settings (saved, now): {changed}; "
                         "remove it or drop --resume.")
    return state


def scaled(epoch, epochs, reference=200):
    """An epoch of the 200-epoch schedule on an `epochs` one (as the recipes do)."""
    return int(round(epoch * epochs / reference))


def learning_rate(epoch, base, warmup, milestones):
    """The reference's per-epoch rate (0-based epoch)."""
    if epoch >= milestones[1]:
        return base * 0.0001
    if epoch >= milestones[0]:
        return base * 0.01
    if epoch < warmup:
        return base * (epoch + 1) / warmup
    return base


def drw_weights(counts, beta):
    weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    return weights / weights.sum() * len(counts)


def build_ldam_resnet32(num_classes=10):
    """The reference's `resnet32(use_norm=True)`: ResNet-32 with the cosine head
    `NormedLinear` (z = normalize(h) @ normalize(W), W `[64, C]` uniform in [-1, 1])."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class NormedLinear(nn.Module):
        def __init__(self, in_features, out_features):
            super().__init__()
            self.weight = nn.Parameter(torch.empty(in_features, out_features).uniform_(-1, 1))

        def forward(self, x):
            return F.normalize(x, dim=1).mm(F.normalize(self.weight, dim=0))

    model = build_resnet32(num_classes)
    model.linear = NormedLinear(64, num_classes)
    return model


def ldam_loss(logits, targets, margins, scale, weights=None):
    """CE(s * (z - Delta_y onehot(y)), y), weighted mean as `F.cross_entropy(weight=w)`."""
    import torch
    import torch.nn.functional as F

    onehot = F.one_hot(targets, logits.shape[1]).bool()
    margin_logits = torch.where(onehot, logits - margins[targets][:, None], logits)
    return F.cross_entropy(scale * margin_logits, targets, weight=weights)


def main(argv=None):
    args = parse_args(argv)
    import torch

    from keras_lt.data import load_long_tailed

    torch.set_num_threads(args.threads or usable_cores())
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    data = load_long_tailed("cifar10", data_dir=args.data_dir, imbalance=args.imbalance,
                            ratio=args.ratio, seed=args.seed)
    counts = np.asarray(data.counts, dtype=np.float64)
    num_classes = len(counts)

    def to_tensor(x):  # uint8 NHWC -> float NCHW in [0, 1]
        return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).float() / 255.0

    mean = torch.tensor(MEAN)[None, :, None, None]
    std = torch.tensor(STD)[None, :, None, None]
    x_train, y_train = to_tensor(data.train.x), torch.from_numpy(data.train.y.astype(np.int64))
    x_test = (to_tensor(data.test.x) - mean) / std
    y_test = data.test.y.astype(np.int64)

    device = torch.device(args.device)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = build_ldam_resnet32(num_classes).to(device, memory_format=memory_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=2e-4)

    margins = 1.0 / np.sqrt(np.sqrt(counts))
    margins = torch.tensor(margins * (args.max_margin / margins.max()), dtype=torch.float32,
                           device=device)
    warmup = scaled(5, args.epochs)
    milestones = (scaled(160, args.epochs), scaled(180, args.epochs))
    drw_epoch = milestones[0]

    def evaluate():
        model.eval()
        predictions = []
        with torch.no_grad():
            for i in range(0, len(x_test), 500):
                batch = x_test[i:i + 500].to(device).contiguous(memory_format=memory_format)
                predictions.append(model(batch).argmax(1).cpu().numpy())
        model.train()
        predictions = np.concatenate(predictions)
        per_class = [float((predictions[y_test == c] == c).mean()) for c in range(num_classes)]
        return float((predictions == y_test).mean()), per_class

    history, first_epoch, seconds_before = [], 0, 0.0
    state = load_checkpoint(args.checkpoint, args) if args.resume else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        history, first_epoch = state["history"], state["epoch"]
        seconds_before = state["seconds"]
        print(f"resuming after epoch {first_epoch} from {args.checkpoint}", flush=True)
    started = time.time() - seconds_before
    n = len(x_train)
    last_epoch = min(args.epochs, args.stop_after_epoch or args.epochs)
    for epoch in range(first_epoch, last_epoch):
        lr = learning_rate(epoch, args.lr, warmup, milestones)
        for group in optimizer.param_groups:
            group["lr"] = lr
        weights = None
        if epoch >= drw_epoch:
            weights = torch.tensor(drw_weights(counts, args.beta), dtype=torch.float32,
                                   device=device)
        order = torch.randperm(n, generator=generator)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, n, args.batch_size):
            index = order[i:i + args.batch_size]
            inputs = ((pad_crop_flip(x_train[index], generator) - mean) / std).to(device)
            inputs = inputs.contiguous(memory_format=memory_format)
            targets = y_train[index].to(device)
            logits = model(inputs)
            loss = ldam_loss(logits, targets, margins, args.scale, weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += len(index)
            correct += int((logits.argmax(1) == targets).sum())
            loss_sum += loss.item() * len(index)
        row = {"epoch": epoch + 1, "lr": lr, "loss": loss_sum / total, "train_acc": correct / total}
        if epoch >= drw_epoch or (epoch + 1) % 10 == 0 or epoch + 1 == args.epochs:
            row["test_acc"], row["per_class"] = evaluate()
        history.append(row)
        print(f"epoch {epoch + 1}/{args.epochs} lr {lr:.5f} loss {row['loss']:.4f} "
              f"train {row['train_acc']:.4f}"
              + (f" test {row['test_acc']:.4f}" if "test_acc" in row else "")
              + f" ({time.time() - started:.0f} s)", flush=True)
        if args.checkpoint:
            save_checkpoint(args.checkpoint, {
                "settings": {name: getattr(args, name) for name in RUN_SETTINGS},
                "epoch": epoch + 1, "history": history, "seconds": time.time() - started,
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(),
            })

    if last_epoch < args.epochs:
        print(f"stopped after epoch {last_epoch} of {args.epochs}; continue with --resume "
              f"--checkpoint {args.checkpoint}", flush=True)
        return None
    tested = [r for r in history if "test_acc" in r]
    best = max(tested, key=lambda r: r["test_acc"])
    result = {
        "script": "benchmarks/torch_ldam_drw.py", "torch": torch.__version__,
        "device": str(device), "threads": torch.get_num_threads(),
        "channels_last": args.channels_last, "resumed": state is not None,
        "data_dir": args.data_dir, "imbalance": args.imbalance, "ratio": args.ratio,
        "epochs": args.epochs, "warmup": warmup, "milestones": milestones, "drw_epoch": drw_epoch,
        "seed": args.seed, "counts": counts.astype(int).tolist(),
        "last_top1": history[-1]["test_acc"], "last_per_class": history[-1]["per_class"],
        "best_top1": best["test_acc"], "best_epoch": best["epoch"],
        "seconds": time.time() - started, "history": history,
    }
    print(f"last top-1 {100 * result['last_top1']:.2f}, best {100 * result['best_top1']:.2f} "
          f"(epoch {result['best_epoch']}); per class "
          + " ".join(f"{100 * a:.1f}" for a in result["last_per_class"]))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
