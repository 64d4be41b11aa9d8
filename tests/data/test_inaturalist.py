"""iNaturalist 2018 annotation files -> file list."""

import json

import numpy as np
import pytest

from keras_lt.data import list_inaturalist2018


def write_inat(root):
    images = [{"id": 10 + i, "file_name": f"train_val2018/Plantae/{i % 3}/{i}.jpg"} for i in range(7)]
    annotations = [{"id": i, "image_id": 16 - i, "category_id": [0, 0, 0, 0, 1, 1, 2][i]} for i in range(7)]
    categories = [{"id": 0, "name": "a"}, {"id": 1, "name": "b"}, {"id": 2, "name": "c"}]
    (root / "train2018.json").write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": categories})
    )


def test_reads_coco_style_annotations(tmp_path):
    write_inat(tmp_path)
    files = list_inaturalist2018(tmp_path, "train")
    assert files.class_names == ["a", "b", "c"]
    assert files.counts().tolist() == [4, 2, 1]
    # annotation 0 points at image 16 -> "6.jpg", category 0.
    assert files.paths[0].endswith("train_val2018/Plantae/0/6.jpg")
    assert files.y.tolist() == [0, 0, 0, 0, 1, 1, 2]
    assert isinstance(files.y, np.ndarray)


def test_missing_annotations(tmp_path):
    with pytest.raises(ValueError, match="val2018.json"):
        list_inaturalist2018(tmp_path, "val")
    (tmp_path / "train2018.json").write_text(json.dumps({"images": []}))
    with pytest.raises(ValueError, match="COCO-style"):
        list_inaturalist2018(tmp_path, "train")
