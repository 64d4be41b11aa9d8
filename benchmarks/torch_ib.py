"""Reference: IB (influence-balanced loss) trained by a plain PyTorch loop, to compare accuracies.

NOT part of keras_lt. The counterpart of torch_ldam_drw.py for IB (issue 7:
keras_lt's IB row falls further below its paper figure than erm and ldam-drw
do on the same copy of CIFAR-10). It trains IB on the same images with the
loop of the IB reference code (Park et al. 2021, pseulki/IB-Loss
`cifar_train.py --loss_type IB --train_rule IBReweight`), rewritten here from
the facts in the paper and the reference scripts:

* ResNet-32 with a plain linear head, kaiming-normal convolutions and linear
  weights (the reference's `_weights_init`); the model gives the logits z
  and the L1 norm of the pooled 64-d features h;
* first phase (epochs before `--ib-epoch`, 100 of 200): unweighted
  cross-entropy; second phase: the IB loss
      mean_i( w_{y_i} CE(z_i, y_i) * alpha / (||softmax(z_i) - onehot(y_i)||_1 ||h_i||_1 + 1e-3) ),
  alpha 1000, w inverse class frequency normalised to sum C, the factor not
  detached (the gradient flows through it, as in the reference);
* learning rate (0-based epoch e): 0.1 * (e + 1) / W in the warm-up, 0.1
  until the IB phase; from the IB phase on 0.1 * 0.01, then 0.1 * 1e-4 from
  epoch 160 and 0.1 * 1e-6 from 180 (the reference's `adjust_learning_rate`;
  the paper's text gives only the 160 / 180 decays);
* the loop of torch_reference_loop.py (torch SGD, coupled weight decay 2e-4,
  the CIFAR augmentation, keras_lt's long-tailed subset, so both loops see the
  same images; only the training code differs).

`--epochs E` shortens the 200-epoch schedule exactly as the keras_lt recipe
does (warm-up, IB phase and milestones at round(x * E / 200), at most the last epoch;
warm-up at least one).

    python benchmarks/torch_ib.py --data-dir .data/cifar10 --epochs 40 \
        --json runs/torch/ib-e40-s0.json

Test accuracy is measured after every epoch of the IB phase (and every 10
epochs before). `--checkpoint F --resume`, `--stop-after-epoch N`,
`--channels-last` and `--device cuda` work as in torch_ldam_drw.py.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from torch_reference import build_resnet32  # noqa: E402
from torch_reference_loop import add_common_arguments, learning_rate, parse, scaled, train  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--alpha", type=float, default=1000.0)
    parser.add_argument("--ib-epoch", type=int, default=None,
                        help="first epoch of the IB phase (default: 100 of 200, scaled)")
    args = parse(parser, argv)
    if args.ib_epoch is None:
        args.ib_epoch = scaled(100, args.epochs)
    return args


def ib_learning_rate(epoch, base, warmup, milestones, ib_epoch):
    """The IB reference's per-epoch rate (0-based epoch): the LDAM-DRW staircase
    before the IB phase; 0.01 x it (base x 0.01, 1e-4, 1e-6) from the phase on."""
    if epoch < ib_epoch:
        return learning_rate(epoch, base, warmup, milestones)
    if epoch >= milestones[1]:
        return base * 1e-6
    if epoch >= milestones[0]:
        return base * 1e-4
    return base * 0.01


def ib_class_weights(counts):
    """Inverse class frequency normalised to sum C (the reference's `IBReweight`)."""
    weights = 1.0 / np.asarray(counts, dtype=np.float64)
    return weights / weights.sum() * len(weights)


def build_ib_resnet32(num_classes=10):
    """The reference's `resnet32(use_norm=False)`: a linear head whose weights
    are kaiming-normal too (its `_weights_init` covers nn.Linear)."""
    from torch import nn

    model = build_resnet32(num_classes)
    nn.init.kaiming_normal_(model.linear.weight)
    return model


def ib_loss(logits, targets, feature_norms, weights, alpha, epsilon=1e-3):
    """mean(w_y CE * alpha / (||softmax(z) - onehot(y)||_1 ||h||_1 + epsilon))."""
    import torch.nn.functional as F

    onehot = F.one_hot(targets, logits.shape[1]).to(logits.dtype)
    grads = (F.softmax(logits, dim=1) - onehot).abs().sum(1)
    factor = alpha / (grads * feature_norms + epsilon)
    ce = F.cross_entropy(logits, targets, reduction="none", weight=weights)
    return (ce * factor).mean()


class InfluenceBalanced:
    """IB's two phases, for `torch_reference_loop.train`."""

    settings = ("alpha", "ib_epoch")

    def __init__(self, args, counts, device):
        import torch

        self.weights = torch.tensor(ib_class_weights(counts), dtype=torch.float32,
                                    device=device)
        self.alpha, self.base, self.ib_epoch = args.alpha, args.lr, args.ib_epoch
        self.warmup = max(1, scaled(5, args.epochs))  # as the recipe: at least one epoch
        self.milestones = (scaled(160, args.epochs), scaled(180, args.epochs))
        self.first_test_epoch = self.ib_epoch
        self.schedule = {"warmup": self.warmup, "milestones": self.milestones}

    build_model = staticmethod(build_ib_resnet32)

    def learning_rate(self, epoch):
        return ib_learning_rate(epoch, self.base, self.warmup, self.milestones, self.ib_epoch)

    def logits(self, model, inputs):
        return model(inputs)

    def loss(self, model, inputs, targets, epoch):
        import torch.nn.functional as F

        features = model.features(inputs)
        logits = model.linear(features)
        if epoch < self.ib_epoch:
            return F.cross_entropy(logits, targets), logits
        norms = features.abs().sum(1)
        return ib_loss(logits, targets, norms, self.weights, self.alpha), logits


def main(argv=None):
    return train(parse_args(argv), InfluenceBalanced, "benchmarks/torch_ib.py")


if __name__ == "__main__":
    main()
