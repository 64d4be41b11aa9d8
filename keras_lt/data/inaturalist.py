"""iNaturalist 2018 as a file list (too big for memory: 437,513 images).

The official release (github.com/visipedia/inat_comp, 2018):

    <root>/train2018.json, <root>/val2018.json     COCO-style annotations
    <root>/categories.json                          optional: species names
    <root>/train_val2018/<kingdom>/<id>/<hash>.jpg  the images

Each json has "images" ({"id", "file_name"}) and "annotations"
({"image_id", "category_id"}); the label is `category_id` (0 .. 8141), the
index the papers' reference code (Cao et al., Cui et al.) trains on. The
data set is naturally long-tailed (n_max = 1000, n_min = 2), so it is used
as it is, with no artificial imbalance. Read the images with
`make_tf_dataset(files, augment="inaturalist")`: resize-crop-flip on the
fly, in parallel. tensorflow-datasets' `i_naturalist2018` is the other way
in (see `load_tfds_dataset`).
"""

import json
import os

import numpy as np

from keras_lt.data.arrays import LabeledFiles

SPLIT_FILES = {"train": "train2018.json", "val": "val2018.json"}


def list_inaturalist2018(directory, split="train"):
    """Reads an iNaturalist 2018 annotation file into a `LabeledFiles`.

    Args:
        directory: folder holding `train2018.json` / `val2018.json` and the
            images at the relative paths the json gives.
        split: "train" or "val".

    Returns:
        `LabeledFiles(paths, y, class_names)`; y is the category id, class
        names come from `categories.json` when present, else the json's own
        "categories" names, else the ids.
    """
    if split not in SPLIT_FILES:
        raise ValueError(f"`split` must be one of {tuple(SPLIT_FILES)}. Received: {split!r}")
    directory = os.fspath(directory)
    path = os.path.join(directory, SPLIT_FILES[split])
    if not os.path.isfile(path):
        raise ValueError(
            f"Missing {path!r}: expected the iNaturalist 2018 annotation files "
            "(train2018.json, val2018.json) in the data directory."
        )
    with open(path) as f:
        data = json.load(f)
    try:
        files = {image["id"]: image["file_name"] for image in data["images"]}
        pairs = [(files[a["image_id"]], int(a["category_id"])) for a in data["annotations"]]
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path!r} is not a COCO-style annotation file ({err!r}).") from err
    if not pairs:
        raise ValueError(f"{path!r} has no annotation.")
    categories = data.get("categories") or []
    names_path = os.path.join(directory, "categories.json")
    if os.path.isfile(names_path):
        with open(names_path) as f:
            categories = json.load(f)
    num_classes = max(max(c for _, c in pairs) + 1, len(categories))
    names = [str(i) for i in range(num_classes)]
    for category in categories:
        if isinstance(category, dict) and "id" in category and "name" in category:
            names[int(category["id"])] = str(category["name"])
    if len(set(names)) != len(names):  # Fall back to ids if names repeat.
        names = [str(i) for i in range(num_classes)]
    paths = [os.path.join(directory, p) for p, _ in pairs]
    labels = np.asarray([c for _, c in pairs], dtype=np.int64)
    return LabeledFiles(paths, labels, names)
