"""Image-folder loader (Keras image_dataset_from_directory layout)."""

import numpy as np
import pytest

from keras_lt.data import list_image_folder, load_image_folder

from .conftest import class_pattern, write_image


def test_loads_classes_in_sorted_order(image_folder):
    data = load_image_folder(image_folder / "train")
    assert data.class_names == ["ant", "bee", "cat"]
    assert data.x.shape == (15, 8, 8, 3) and data.x.dtype == np.uint8
    assert data.counts().tolist() == [5, 4, 6]  # ant 5, bee 4, cat 6
    # Files are read in sorted order within a class: pixels encode (label, i).
    np.testing.assert_array_equal(data.x[0], class_pattern(0, 0))
    np.testing.assert_array_equal(data.x[6], class_pattern(1, 1))
    assert (data.x[..., 0, 0, 0] == 20 * data.y).all()


def test_matches_keras_label_order(image_folder):
    keras = pytest.importorskip("keras")
    ds = keras.utils.image_dataset_from_directory(
        image_folder / "train", image_size=(8, 8), shuffle=False, batch_size=None, verbose=False
    )
    ours = load_image_folder(image_folder / "train")
    assert ds.class_names == ours.class_names
    assert [int(y) for _, y in ds] == ours.y.tolist()


def test_grayscale_resize_and_explicit_classes(image_folder):
    data = load_image_folder(
        image_folder / "train", image_size=(4, 6), color_mode="grayscale", class_names=["cat", "ant"]
    )
    assert data.x.shape == (11, 4, 6, 1)
    assert data.class_names == ["cat", "ant"]
    assert data.counts().tolist() == [6, 5]
    with pytest.raises(ValueError, match="missing"):
        load_image_folder(image_folder / "train", class_names=["dog"])


def test_unreadable_file_is_skipped_with_a_warning_naming_it(image_folder):
    bad = image_folder / "train" / "ant" / "0099.jpg"
    bad.write_bytes(b"not an image")
    (image_folder / "train" / "ant" / "notes.txt").write_text("ignored: not an image extension")
    with pytest.warns(UserWarning, match="0099.jpg"):
        data = load_image_folder(image_folder / "train")
    assert data.counts().tolist() == [5, 4, 6]
    with pytest.raises(ValueError, match="0099.jpg"):
        load_image_folder(image_folder / "train", on_error="raise")


def test_mixed_sizes_need_image_size(image_folder):
    write_image(str(image_folder / "train" / "ant" / "big.png"), np.zeros((9, 9, 3), np.uint8))
    with pytest.raises(ValueError, match="image_size"):
        load_image_folder(image_folder / "train")
    assert load_image_folder(image_folder / "train", image_size=(8, 8)).x.shape == (16, 8, 8, 3)


def test_empty_folders_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_image_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no class sub-folder"):
        load_image_folder(tmp_path / "empty")
    (tmp_path / "empty" / "cls").mkdir()
    with pytest.raises(ValueError, match="holds no image"):
        list_image_folder(tmp_path / "empty")


def test_nested_files_and_jpeg(tmp_path):
    write_image(str(tmp_path / "a" / "sub" / "x.jpeg"), np.full((5, 5, 3), 128, np.uint8))
    write_image(str(tmp_path / "b" / "y.JPG"), np.full((5, 5, 3), 10, np.uint8))
    data = load_image_folder(tmp_path)
    assert data.y.tolist() == [0, 1]
    assert abs(int(data.x[0].mean()) - 128) <= 2  # JPEG is lossy
