"""The `>>>` examples in the docstrings run and print what they say.

Only modules whose examples are complete (they define what they use, given
`keras`, `keras_lt` and `np`, as a reader has them) are run; the others show a
call on a model or data the reader already has.
"""

import doctest
import importlib

import keras
import numpy as np
import pytest

import keras_lt

READER_GLOBALS = {"keras": keras, "keras_lt": keras_lt, "np": np}

SELF_CONTAINED = [
    "keras_lt.data.arrays",
    "keras_lt.data.augmentation",
    "keras_lt.data.imbalance",
    "keras_lt.data.long_tailed",
    "keras_lt.data.validation_split",
    "keras_lt.evaluation.accuracy",
    "keras_lt.evaluation.balanced_accuracy",
    "keras_lt.evaluation.shot_groups",
    "keras_lt.models.cifar_resnet",
    "keras_lt.schedules.warmup_step_decay",
    "keras_lt.training.config",
]


@pytest.mark.parametrize("name", SELF_CONTAINED)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = []
    for test in doctest.DocTestFinder().find(module, extraglobs=READER_GLOBALS):
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0, f"{name} has no docstring examples left"
    assert result.failed == 0, "".join(report)
