"""Tiny-ImageNet's own layout: train/<wnid>/images, val/val_annotations.txt."""

import numpy as np
import pytest

from keras_lt.data import list_tiny_imagenet, load_tiny_imagenet


def test_train_and_val(tiny_imagenet_folder):
    train = load_tiny_imagenet(tiny_imagenet_folder, "train")
    assert train.class_names == ["n01", "n02", "n03"]
    assert train.x.shape == (12, 64, 64, 3)
    assert train.counts().tolist() == [4, 4, 4]
    assert (np.abs(train.x[:, 0, 0, 0].astype(int) - 40 * train.y) <= 2).all()
    val = load_tiny_imagenet(tiny_imagenet_folder.parent, "val")  # the parent works too
    assert val.class_names == train.class_names
    # val_k has wnid ["n02", "n01", "n03"][k % 3] -> ids 1, 0, 2.
    assert val.y.tolist() == [1, 0, 2, 1, 0, 2]
    assert val.x.shape == (6, 64, 64, 3)  # the grayscale file became RGB


def test_bad_layouts(tmp_path, tiny_imagenet_folder):
    with pytest.raises(ValueError, match="not a Tiny-ImageNet folder"):
        list_tiny_imagenet(tmp_path / "nothing")
    with pytest.raises(ValueError, match="split"):
        list_tiny_imagenet(tiny_imagenet_folder, "test")
    annotations = tiny_imagenet_folder / "val" / "val_annotations.txt"
    annotations.write_text("val_0.JPEG\tn99\t0\t0\t1\t1\n")
    with pytest.raises(ValueError, match="line 1"):
        list_tiny_imagenet(tiny_imagenet_folder, "val")
    annotations.unlink()
    with pytest.raises(ValueError, match="val_annotations.txt"):
        list_tiny_imagenet(tiny_imagenet_folder, "val")
