"""The training loop shared by the PyTorch reference scripts (torch_ldam_drw.py, torch_ib.py).

NOT part of keras_lt. Each script names a method (its network, loss and
learning-rate schedule, as the paper's reference code has them); this module
trains it the way the LDAM-DRW and IB reference code (kaidic/LDAM-DRW and
pseulki/IB-Loss `cifar_train.py`, the same loop) does, on keras_lt's own
long-tailed subset (`keras_lt.data.load_long_tailed`, seeded by `--seed` as
the recipe seeds it), so that a keras_lt run and a reference run see the same
images and differ only in the training code:

* `torch.optim.SGD` over all parameters: momentum 0.9, weight decay 2e-4
  (coupled), batch 128 with a partial last batch, shuffled each epoch, the
  learning rate set once per epoch by the method;
* pad 4 (zeros, before normalisation) + random 32x32 crop + horizontal flip,
  normalised with the reference's constants (0.4914, 0.4822, 0.4465) /
  (0.2023, 0.1994, 0.2010);
* test accuracy after every epoch from the method's `first_test_epoch` on
  (and every 10 epochs before); the result has the last and the best epoch.

`--checkpoint FILE` saves the whole state (weights, momentum buffers, the
data/augmentation generator, the history) after every epoch, atomically;
`--resume` continues from it, and a resumed run sees the same batches and
crops as an uninterrupted one, so it ends where that one ends.
"""

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from torch_reference import pad_crop_flip, usable_cores  # noqa: E402

MEAN = (0.4914, 0.4822, 0.4465)  # the reference code's Normalize constants
STD = (0.2023, 0.1994, 0.2010)

# The arguments every run is defined by; a method adds its own (`Method.settings`).
COMMON_SETTINGS = ("imbalance", "ratio", "epochs", "batch_size", "lr", "seed")


def add_common_arguments(parser):
    """The data, schedule, device and checkpoint options of every reference script."""
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


def parse(parser, argv):
    args = parser.parse_args(argv)
    if (args.resume or args.stop_after_epoch) and not args.checkpoint:
        parser.error("--resume and --stop-after-epoch need --checkpoint FILE")
    return args


def scaled(epoch, epochs, reference=200):
    """An epoch of the 200-epoch schedule on an `epochs` one, as the recipes do:
    rounded, and kept inside the run (keras_lt.training.config.inside_run)."""
    epoch = int(round(epoch * epochs / reference))
    return min(epoch, epochs - 1) if epochs > 1 else epoch


def learning_rate(epoch, base, warmup, milestones):
    """The LDAM-DRW reference's per-epoch rate (0-based epoch): a linear warm-up
    over `warmup` epochs, x0.01 from the first milestone, x0.0001 from the second."""
    if epoch >= milestones[1]:
        return base * 0.0001
    if epoch >= milestones[0]:
        return base * 0.01
    if epoch < warmup:
        return base * (epoch + 1) / warmup
    return base


def save_checkpoint(path, state):
    """Writes `state` (a dict of tensors and plain values) atomically to `path`."""
    import torch

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path, settings):
    """The saved state of `path`, or None; refuses one saved under other `settings`."""
    import torch

    if not os.path.exists(path):
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    saved = state["settings"]
    if saved != settings:
        changed = {k: (saved.get(k), v) for k, v in settings.items() if saved.get(k) != v}
        raise SystemExit(f"{path} was saved with other settings (saved, now): {changed}; "
                         "remove it or drop --resume.")
    return state


def train(args, make_method, script):
    """Trains `make_method(args, counts, device)` by the reference loop.

    The method object has: `settings` (names of its own arguments),
    `build_model(num_classes)`, `learning_rate(epoch)` (0-based epoch),
    `loss(model, inputs, targets, epoch)` -> (loss, logits),
    `logits(model, inputs)`, `first_test_epoch` and `schedule` (a dict for
    the result). Returns the result dict, or None when `--stop-after-epoch`
    ended the run early.
    """
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
    method = make_method(args, counts, device)
    model = method.build_model(num_classes).to(device, memory_format=memory_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=2e-4)
    settings = {name: getattr(args, name) for name in COMMON_SETTINGS + tuple(method.settings)}

    def evaluate():
        model.eval()
        predictions = []
        with torch.no_grad():
            for i in range(0, len(x_test), 500):
                batch = x_test[i:i + 500].to(device).contiguous(memory_format=memory_format)
                predictions.append(method.logits(model, batch).argmax(1).cpu().numpy())
        model.train()
        predictions = np.concatenate(predictions)
        per_class = [float((predictions[y_test == c] == c).mean()) for c in range(num_classes)]
        return float((predictions == y_test).mean()), per_class

    history, first_epoch, seconds_before = [], 0, 0.0
    state = load_checkpoint(args.checkpoint, settings) if args.resume else None
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
        lr = method.learning_rate(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        order = torch.randperm(n, generator=generator)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, n, args.batch_size):
            index = order[i:i + args.batch_size]
            inputs = ((pad_crop_flip(x_train[index], generator) - mean) / std).to(device)
            inputs = inputs.contiguous(memory_format=memory_format)
            targets = y_train[index].to(device)
            loss, logits = method.loss(model, inputs, targets, epoch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += len(index)
            correct += int((logits.argmax(1) == targets).sum())
            loss_sum += loss.item() * len(index)
        row = {"epoch": epoch + 1, "lr": lr, "loss": loss_sum / total, "train_acc": correct / total}
        if epoch >= method.first_test_epoch or (epoch + 1) % 10 == 0 or epoch + 1 == args.epochs:
            row["test_acc"], row["per_class"] = evaluate()
        history.append(row)
        print(f"epoch {epoch + 1}/{args.epochs} lr {lr:.7f} loss {row['loss']:.4f} "
              f"train {row['train_acc']:.4f}"
              + (f" test {row['test_acc']:.4f}" if "test_acc" in row else "")
              + f" ({time.time() - started:.0f} s)", flush=True)
        if args.checkpoint:
            save_checkpoint(args.checkpoint, {
                "settings": settings, "epoch": epoch + 1, "history": history,
                "seconds": time.time() - started, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "generator": generator.get_state(),
            })

    if last_epoch < args.epochs:
        print(f"stopped after epoch {last_epoch} of {args.epochs}; continue with --resume "
              f"--checkpoint {args.checkpoint}", flush=True)
        return None
    tested = [r for r in history if "test_acc" in r]
    best = max(tested, key=lambda r: r["test_acc"])
    result = {
        "script": script, "torch": torch.__version__,
        "device": str(device), "threads": torch.get_num_threads(),
        "channels_last": args.channels_last, "resumed": state is not None,
        "data_dir": args.data_dir, **settings, **method.schedule,
        "counts": counts.astype(int).tolist(),
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
