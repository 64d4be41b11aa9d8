"""CIFAR-10-LT (ResNet-32, 200 epochs, batch 128, lr 0.1, decays at 160/180).

The settings live in keras_lt.training.config.DATASETS["cifar10"] and the method
table in keras_lt.training.methods; this script is `keras-lt train cifar10`.

    python recipes/cifar10_lt.py --method ldam-drw --data-dir /path/to/cifar10
    python recipes/cifar10_lt.py --method cdt --epochs 30 --data-dir ...   # schedule scaled
    python recipes/cifar10_lt.py --method ib --dry-run                     # print the config
"""

import sys

from keras_lt.cli import recipe_main

DATASET = "cifar10"


def main(argv=None):
    return recipe_main(DATASET, argv)


if __name__ == "__main__":
    sys.exit(main())
