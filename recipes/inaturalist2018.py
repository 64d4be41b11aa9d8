"""iNaturalist 2018 (ResNet-50 224x224, batch 512, 90 epochs, lr 0.2, decays at 30/60/80).

The settings live in keras_lt.training.config.DATASETS["inaturalist2018"] and the method
table in keras_lt.training.methods; this script is `keras-lt train inaturalist2018`.

    python recipes/inaturalist2018.py --method ldam-drw --data-dir /path/to/inaturalist2018
    python recipes/inaturalist2018.py --method cdt --epochs 30 --data-dir ...   # schedule scaled
    python recipes/inaturalist2018.py --method ib --dry-run                     # print the config
"""

import sys

from keras_lt.cli import recipe_main

DATASET = "inaturalist2018"


def main(argv=None):
    return recipe_main(DATASET, argv)


if __name__ == "__main__":
    sys.exit(main())
