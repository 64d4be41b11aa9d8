"""Tiny-ImageNet in its own (distribution) layout.

    tiny-imagenet-200/train/<wnid>/images/<wnid>_<k>.JPEG   500 per class
    tiny-imagenet-200/val/images/val_<k>.JPEG                50 per class
    tiny-imagenet-200/val/val_annotations.txt   "val_<k>.JPEG<TAB><wnid><TAB>x0 y0 x1 y1"

200 classes of 64x64 images (Le & Yang, 2015); the papers (CDT, IB, MFW)
make the training split long-tailed and evaluate on the balanced `val`
split. Classes are the training wnids in sorted order, as torchvision's
ImageFolder (used by the reference code) orders them; some files are
grayscale and are converted to RGB.
"""

import os

import numpy as np

from keras_lt.data.arrays import LabeledArrays, LabeledFiles
from keras_lt.data.image_folder import _is_image, read_images

SPLITS = ("train", "val")


def _find_root(directory):
    directory = os.fspath(directory)
    for candidate in (directory, os.path.join(directory, "tiny-imagenet-200")):
        if os.path.isdir(os.path.join(candidate, "train")):
            return candidate
    raise ValueError(
        f"{directory!r} is not a Tiny-ImageNet folder: expected "
        "train/<wnid>/images/*.JPEG and val/val_annotations.txt inside it "
        "(the layout of tiny-imagenet-200.zip)."
    )


def list_tiny_imagenet(directory, split="train"):
    """Lists Tiny-ImageNet image files and labels without reading them.

    Args:
        directory: the `tiny-imagenet-200` folder (or its parent).
        split: "train" or "val".

    Returns:
        `LabeledFiles(paths, y, class_names)` with the wnids as class names.
    """
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}. Received: {split!r}")
    root = _find_root(directory)
    train_dir = os.path.join(root, "train")
    wnids = sorted(d for d in os.listdir(train_dir) if os.path.isdir(os.path.join(train_dir, d)))
    if not wnids:
        raise ValueError(f"{train_dir!r} has no class (wnid) sub-folder.")
    index = {w: i for i, w in enumerate(wnids)}
    paths, labels = [], []
    if split == "train":
        for wnid in wnids:
            image_dir = os.path.join(train_dir, wnid, "images")
            if not os.path.isdir(image_dir):
                image_dir = os.path.join(train_dir, wnid)
            files = sorted(f for f in os.listdir(image_dir) if _is_image(f))
            if not files:
                raise ValueError(f"Tiny-ImageNet class folder {image_dir!r} holds no image.")
            paths.extend(os.path.join(image_dir, f) for f in files)
            labels.extend([index[wnid]] * len(files))
    else:
        annotations = os.path.join(root, "val", "val_annotations.txt")
        if not os.path.isfile(annotations):
            raise ValueError(f"Missing {annotations!r}: Tiny-ImageNet's validation labels.")
        with open(annotations) as f:
            for line_number, line in enumerate(f, 1):
                fields = line.strip().split("\t")
                if not fields or fields == [""]:
                    continue
                if len(fields) < 2 or fields[1] not in index:
                    raise ValueError(
                        f"{annotations!r} line {line_number}: expected "
                        f"'<file>\\t<wnid>...' with a training wnid, got {line.strip()!r}."
                    )
                paths.append(os.path.join(root, "val", "images", fields[0]))
                labels.append(index[fields[1]])
        if not paths:
            raise ValueError(f"{annotations!r} lists no image.")
    return LabeledFiles(paths, np.asarray(labels, dtype=np.int64), wnids)


def load_tiny_imagenet(directory, split="train", on_error="warn"):
    """Loads a Tiny-ImageNet split into memory (uint8 `[N, 64, 64, 3]`).

    Args:
        directory: the `tiny-imagenet-200` folder (or its parent).
        split: "train" (100,000 images) or "val" (10,000, balanced).
        on_error: "warn" (skip unreadable files, naming them) or "raise".

    Returns:
        `LabeledArrays` with the wnids as class names (sorted order).
    """
    files = list_tiny_imagenet(directory, split)
    x, kept = read_images(files.paths, None, "rgb", on_error)
    return LabeledArrays(x, files.y[kept], files.class_names)
