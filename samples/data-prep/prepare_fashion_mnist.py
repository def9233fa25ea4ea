#!/usr/bin/env python3
"""Builds the Fashion-MNIST subset shipped in samples/src/main/resources/data/fashion-mnist/.

Input: the IDX files of Debian's dataset-fashion-mnist package (Zalando's original files).
    apt-get install -y dataset-fashion-mnist
    python3 prepare_fashion_mnist.py /usr/share/datasets/fashion-mnist ../src/main/resources/data/fashion-mnist

Output: train/validation/test images (IDX3, uint8, 28x28) and labels (IDX1, uint8), gzip-compressed,
in the original IDX format. Train and validation are drawn from the 60,000 training images without
overlap, test from the 10,000 test images; a fixed number per class, a fixed seed, classes interleaved
in a seeded random order.
"""
import gzip
import random
import struct
import sys
from pathlib import Path

# per class: the sample pretrains on classes 0-4 and adapts to classes 5-9 with fewer examples
TRAIN = {c: 800 if c < 5 else 400 for c in range(10)}
VALIDATION = {c: 100 for c in range(10)}
TEST = {c: 200 for c in range(10)}
SEED = 20261130


def read_idx(images_path, labels_path):
    with gzip.open(images_path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051 and rows == 28 and cols == 28, (magic, rows, cols)
        pixels = f.read(n * rows * cols)
    with gzip.open(labels_path, "rb") as f:
        magic, m = struct.unpack(">II", f.read(8))
        assert magic == 2049 and m == n, (magic, m, n)
        labels = f.read(n)
    return [pixels[i * 784:(i + 1) * 784] for i in range(n)], list(labels)


def draw(indices_by_class, counts, rng):
    chosen = []
    for c, count in counts.items():
        pool = indices_by_class[c]
        chosen += pool[:count]
        del pool[:count]
    rng.shuffle(chosen)
    return chosen


def by_class(labels, rng):
    out = {c: [] for c in range(10)}
    for i, label in enumerate(labels):
        out[label].append(i)
    for pool in out.values():
        rng.shuffle(pool)
    return out


def write(out_dir, name, images, labels, chosen):
    with gzip.GzipFile(out_dir / f"{name}-images-idx3-ubyte.gz", "wb", compresslevel=9, mtime=0) as f:
        f.write(struct.pack(">IIII", 2051, len(chosen), 28, 28))
        for i in chosen:
            f.write(images[i])
    with gzip.GzipFile(out_dir / f"{name}-labels-idx1-ubyte.gz", "wb", compresslevel=9, mtime=0) as f:
        f.write(struct.pack(">II", 2049, len(chosen)))
        f.write(bytes(labels[i] for i in chosen))


def main(source, target):
    source, target = Path(source), Path(target)
    target.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    train_images, train_labels = read_idx(source / "train-images-idx3-ubyte.gz", source / "train-labels-idx1-ubyte.gz")
    test_images, test_labels = read_idx(source / "t10k-images-idx3-ubyte.gz", source / "t10k-labels-idx1-ubyte.gz")
    pools = by_class(train_labels, rng)
    write(target, "train", train_images, train_labels, draw(pools, TRAIN, rng))
    write(target, "validation", train_images, train_labels, draw(pools, VALIDATION, rng))
    write(target, "test", test_images, test_labels, draw(by_class(test_labels, rng), TEST, rng))


if __name__ == "__main__":
    main(*sys.argv[1:3])
