"""`python -m keras_lt`: the same as the `keras-lt` command."""

import sys

from keras_lt.cli import main

if __name__ == "__main__":
    sys.exit(main())
