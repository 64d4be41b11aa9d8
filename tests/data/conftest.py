"""Small image folders generated on the fly (tests never read real data sets)."""

import os

import numpy as np
import pytest


def write_image(path, array):
    from PIL import Image

    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "L" if array.ndim == 2 else "RGB"
    Image.fromarray(array, mode).save(path)


def class_pattern(label, index, size=8):
    """A deterministic image: class in the red channel, index in green."""
    image = np.zeros((size, size, 3), np.uint8)
    image[..., 0] = 20 * label
    image[..., 1] = index
    image[..., 2] = np.arange(size)[None, :] * 10
    return image


@pytest.fixture
def image_folder(tmp_path):
    """train/ and test/ image folders, 3 classes, PNG (lossless) files."""
    root = tmp_path / "toy"
    names = ["cat", "ant", "bee"]  # sorted: ant, bee, cat
    sizes = {"train": [6, 5, 4], "test": [2, 2, 2]}
    for split, per_class in sizes.items():
        for name, n in zip(names, per_class):
            for i in range(n):
                label = sorted(names).index(name)
                write_image(
                    str(root / split / name / f"{i:04d}.png"), class_pattern(label, i)
                )
    return root


@pytest.fixture
def tiny_imagenet_folder(tmp_path):
    """The Tiny-ImageNet layout with 3 wnids, 4 train and 2 val images each."""
    root = tmp_path / "tiny-imagenet-200"
    wnids = ["n02", "n01", "n03"]
    for wnid in wnids:
        for i in range(4):
            write_image(
                str(root / "train" / wnid / "images" / f"{wnid}_{i}.JPEG"),
                np.full((64, 64, 3), 40 * sorted(wnids).index(wnid), np.uint8),
            )
    lines = []
    for k in range(6):
        wnid = wnids[k % 3]
        name = f"val_{k}.JPEG"
        # One grayscale file: Tiny-ImageNet has some.
        array = np.full((64, 64), 7, np.uint8) if k == 0 else np.zeros((64, 64, 3), np.uint8)
        write_image(str(root / "val" / "images" / name), array)
        lines.append(f"{name}\t{wnid}\t0\t0\t63\t63")
    (root / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    return root
