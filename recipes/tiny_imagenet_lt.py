"""Tiny-ImageNet-LT (ResNet-18 64x64, pad 8, 400 epochs, decays at 250/320/380).

The settings live in keras_lt.training.config.DATASETS["tiny_imagenet"] and the method
table in keras_lt.training.methods; this script is `keras-lt train tiny_imagenet`.

    python recipes/tiny_imagenet_lt.py --method ldam-drw --data-dir /path/to/tiny_imagenet
    python recipes/tiny_imagenet_lt.py --method cdt --epochs 30 --data-dir ...   # schedule scaled
    python recipes/tiny_imagenet_lt.py --method ib --dry-run                     # print the config
"""

import sys

from keras_lt.cli import recipe_main

DATASET = "tiny_imagenet"


def main(argv=None):
    return recipe_main(DATASET, argv)


if __name__ == "__main__":
    sys.exit(main())
