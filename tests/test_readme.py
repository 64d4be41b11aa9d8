"""The README's "library in a few lines" example runs as printed.

The example is read from README.md, pointed at a small generated CIFAR-like
image folder and shortened from 200 epochs to 1; nothing else is changed, so
a renamed function or argument in keras_lt breaks this test before it breaks
a reader's first try.
"""

import os
import re

import numpy as np

README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")
CIFAR10_CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]


def readme_example():
    with open(README, encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert blocks, "README.md has no ```python block"
    return blocks[0]


def replace_once(code, old, new):
    assert code.count(old) == 1, f"the README example no longer has {old!r}"
    return code.replace(old, new)


def write_cifar_like_folder(root, per_class):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, n in per_class.items():
        for name in CIFAR10_CLASSES:
            folder = os.path.join(root, split, name)
            os.makedirs(folder)
            for i in range(n):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(os.path.join(folder, f"{i:04d}.png"))


def test_readme_example_runs(tmp_path, capsys):
    root = str(tmp_path / "cifar10")
    write_cifar_like_folder(root, {"train": 100, "test": 3})
    code = readme_example()
    code = replace_once(code, 'data_dir="cifar10/"', f"data_dir={root!r}")
    code = replace_once(code, "epochs=200", "epochs=1")

    namespace = {}
    exec(compile(code, "README.md example", "exec"), namespace)

    # ratio 100 on 100 images a class: n_i = int(100 * (1/100) ** (i / 9)).
    expected = [int(100 * 0.01 ** (i / 9)) for i in range(10)]
    assert expected == [100, 59, 35, 21, 12, 7, 4, 2, 1, 1]
    np.testing.assert_array_equal(namespace["counts"], expected)
    assert namespace["steps"] == 2  # ceil(242 / 128) batches of 128 an epoch
    report = namespace["report"]
    assert report["num_test_samples"] == 30
    assert [c["train_count"] for c in report["per_class"]] == expected
    assert [c["name"] for c in report["per_class"]] == CIFAR10_CLASSES
    assert "many" in capsys.readouterr().out  # format_report's groups were printed
