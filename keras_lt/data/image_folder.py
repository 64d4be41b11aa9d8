"""Image folders in the layout of `keras.utils.image_dataset_from_directory`.

    directory/<class_a>/xxx.jpg
    directory/<class_b>/yyy.png      (sub-folders of a class folder count too)

Classes are the sub-folders in alphanumeric order, as in Keras (and in
torchvision's ImageFolder, which the reference code uses); files are read
in sorted order, so labels and indices are reproducible. Images are read
with Pillow, so this works on every Keras backend, without TensorFlow.
The CIFAR-10 copy in `../shared/datasets` is one such folder per split.
"""

import os
import warnings

import numpy as np

from keras_lt.data.arrays import LabeledArrays, LabeledFiles

# The formats `keras.utils.image_dataset_from_directory` accepts.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
COLOR_MODES = {"rgb": "RGB", "grayscale": "L"}


def _is_image(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def list_image_folder(directory, class_names=None, follow_links=False):
    """Lists the images of an image-folder tree without reading them.

    Args:
        directory: folder with one sub-folder per class.
        class_names: optional explicit list (and order) of class sub-folders;
            defaults to all sub-folders in sorted order.
        follow_links: whether to follow symbolic links to sub-folders.

    Returns:
        `LabeledFiles(paths, y, class_names)`, files sorted within a class.

    Raises:
        ValueError: if the folder is missing, has no class sub-folder, or a
            class sub-folder holds no image.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"Image folder {directory!r} does not exist or is not a directory.")
    found = sorted(
        d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d))
    )
    if class_names is None:
        class_names = found
    else:
        class_names = [str(c) for c in class_names]
        missing = [c for c in class_names if c not in found]
        if missing:
            raise ValueError(
                f"Class folders {missing[:5]} are missing from {directory!r} "
                f"(found: {found[:10]})."
            )
    if not class_names:
        raise ValueError(
            f"Image folder {directory!r} has no class sub-folder; expected the layout "
            "directory/<class_name>/<image files>, as for "
            "keras.utils.image_dataset_from_directory."
        )
    paths, labels = [], []
    for label, name in enumerate(class_names):
        class_dir = os.path.join(directory, name)
        files = []
        for root, dirs, names in os.walk(class_dir, followlinks=follow_links):
            dirs.sort()
            files.extend(os.path.join(root, n) for n in sorted(names) if _is_image(n))
        if not files:
            raise ValueError(
                f"Class folder {class_dir!r} holds no image file "
                f"(accepted extensions: {', '.join(IMAGE_EXTENSIONS)})."
            )
        paths.extend(files)
        labels.extend([label] * len(files))
    return LabeledFiles(paths, np.asarray(labels, dtype=np.int64), class_names)


def read_images(paths, image_size=None, color_mode="rgb", on_error="warn"):
    """Reads image files into one uint8 array `[N, H, W, C]` with Pillow.

    Args:
        paths: image file paths.
        image_size: `(height, width)` to resize to (bilinear, as Keras);
            None keeps the files' size, which must then be the same for all.
        color_mode: "rgb" (3 channels) or "grayscale" (1 channel).
        on_error: "warn" skips an unreadable file with a warning naming it;
            "raise" raises a ValueError naming it.

    Returns:
        `(images, kept)`: the uint8 array and the int64 positions in `paths`
        of the files that were read.
    """
    from PIL import Image

    if color_mode not in COLOR_MODES:
        raise ValueError(f"`color_mode` must be one of {sorted(COLOR_MODES)}. Received: {color_mode!r}")
    if on_error not in ("warn", "raise"):
        raise ValueError(f"`on_error` must be 'warn' or 'raise'. Received: {on_error!r}")
    if image_size is not None:
        image_size = (int(image_size[0]), int(image_size[1]))
    mode = COLOR_MODES[color_mode]
    images, kept, shape = [], [], None
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as im:
                im = im.convert(mode)
                if image_size is not None and im.size != (image_size[1], image_size[0]):
                    im = im.resize((image_size[1], image_size[0]), Image.BILINEAR)
                arr = np.asarray(im, dtype=np.uint8)
        except Exception as err:  # Pillow raises many types for bad files.
            message = f"Cannot read image file {path!r}: {type(err).__name__}: {err}"
            if on_error == "raise":
                raise ValueError(message) from err
            warnings.warn(message + " -- skipped.", stacklevel=2)
            continue
        if arr.ndim == 2:
            arr = arr[..., None]
        if shape is None:
            shape = arr.shape
        elif arr.shape != shape:
            raise ValueError(
                f"Image {path!r} has shape {arr.shape} but earlier images have {shape}; "
                "pass `image_size=(height, width)` to resize them all."
            )
        images.append(arr)
        kept.append(i)
    if not images:
        raise ValueError("No image could be read.")
    return np.stack(images), np.asarray(kept, dtype=np.int64)


def load_image_folder(
    directory,
    image_size=None,
    color_mode="rgb",
    class_names=None,
    on_error="warn",
    follow_links=False,
):
    """Loads an image folder (Keras `image_dataset_from_directory` layout).

    Args:
        directory: folder with one sub-folder per class, e.g.
            `cifar10/train` of the shared CIFAR-10 copy.
        image_size: `(height, width)` to resize to; None keeps the size.
        color_mode: "rgb" or "grayscale".
        class_names: optional explicit class sub-folders (and their order).
        on_error: "warn" (skip unreadable files, naming them) or "raise".
        follow_links: whether to follow symbolic links to sub-folders.

    Returns:
        `LabeledArrays(x uint8 [N, H, W, C], y int64 [N], class_names)`.

    Example:
        >>> train = load_image_folder(".data/cifar10/train")  # doctest: +SKIP
        >>> train.x.shape, train.class_names[:2]  # doctest: +SKIP
        ((50000, 32, 32, 3), ['airplane', 'automobile'])
    """
    files = list_image_folder(directory, class_names, follow_links)
    x, kept = read_images(files.paths, image_size, color_mode, on_error)
    return LabeledArrays(x, files.y[kept], files.class_names)
