"""Reference: LDAM-DRW trained by a plain PyTorch loop, to compare accuracies.

NOT part of keras_lt. When a keras_lt run falls short of a paper's figure
(issue 7), this script answers "is it keras_lt or the setting?": it trains
the same method on the same images with the loop of the LDAM-DRW reference
code (Cao et al. 2019, kaidic/LDAM-DRW `cifar_train.py`), rewritten here
from the facts in the paper and METHODS.md:

* ResNet-32, option-A shortcuts, kaiming-normal convolutions, batch norm
  (momentum 0.1, eps 1e-5), cosine head `NormedLinear` (features and class
  vectors L2-normalised, no bias; class vectors start uniform in [-1, 1],
  each scaled to unit length, as the reference's `renorm_(2, 1, 1e-5).mul_(1e5)`);
* LDAM loss: CE(s * (z - Delta_y onehot(y)), y), Delta_c = K / n_c^(1/4),
  max margin 0.5, s = 30; DRW: unweighted until `--drw-epoch`, then weights
  (1 - beta) / (1 - beta^n_c) normalised to sum C (beta 0.9999), a weighted
  batch averaged by the sum of its weights (`F.cross_entropy(weight=w)`);
* lr = 0.1 * (e + 1) / W for the warm-up epochs e < W, 0.1 * 0.01 from the
  first milestone, 0.1 * 0.0001 from the second (0-based epochs);
* the loop of torch_reference_loop.py (torch SGD with coupled weight decay
  2e-4, the CIFAR augmentation, keras_lt's long-tailed subset, so both loops
  see the same images; only the training code differs).
`--epochs E` shortens the 200-epoch schedule exactly as the keras_lt recipe
does (warm-up, milestones and DRW start at round(x * E / 200), at most the last
epoch; warm-up at least one).

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
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from torch_reference import build_resnet32  # noqa: E402
from torch_reference_loop import add_common_arguments, learning_rate, parse, scaled, train  # noqa: E402,F401


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--max-margin", type=float, default=0.5)
    parser.add_argument("--scale", type=float, default=30.0)
    parser.add_argument("--beta", type=float, default=0.9999)
    return parse(parser, argv)


def drw_weights(counts, beta):
    weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    return weights / weights.sum() * len(counts)


def build_ldam_resnet32(num_classes=10):
    """The reference's `resnet32(use_norm=True)`: ResNet-32 with the cosine head
    `NormedLinear` (z = normalize(h) @ normalize(W), W `[64, C]` uniform in [-1, 1],
    unit-length columns)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class NormedLinear(nn.Module):
        def __init__(self, in_features, out_features):
            super().__init__()
            self.weight = nn.Parameter(
                torch.empty(in_features, out_features).uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5))

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


class LdamDrw:
    """LDAM with deferred re-weighting, for `torch_reference_loop.train`."""

    settings = ("max_margin", "scale", "beta")

    def __init__(self, args, counts, device):
        import torch

        margins = 1.0 / np.sqrt(np.sqrt(counts))
        self.margins = torch.tensor(margins * (args.max_margin / margins.max()),
                                    dtype=torch.float32, device=device)
        self.drw = torch.tensor(drw_weights(counts, args.beta), dtype=torch.float32,
                                device=device)
        self.scale, self.base = args.scale, args.lr
        self.warmup = max(1, scaled(5, args.epochs))  # as the recipe: at least one epoch
        self.milestones = (scaled(160, args.epochs), scaled(180, args.epochs))
        self.first_test_epoch = self.drw_epoch = self.milestones[0]
        self.schedule = {"warmup": self.warmup, "milestones": self.milestones,
                         "drw_epoch": self.drw_epoch}

    build_model = staticmethod(build_ldam_resnet32)

    def learning_rate(self, epoch):
        return learning_rate(epoch, self.base, self.warmup, self.milestones)

    def logits(self, model, inputs):
        return model(inputs)

    def loss(self, model, inputs, targets, epoch):
        logits = model(inputs)
        weights = self.drw if epoch >= self.drw_epoch else None
        return ldam_loss(logits, targets, self.margins, self.scale, weights), logits


def main(argv=None):
    return train(parse_args(argv), LdamDrw, "benchmarks/torch_ldam_drw.py")


if __name__ == "__main__":
    main()
