#!/usr/bin/env python3
"""Regenerates data/fashion-mnist-sample/ from Debian's dataset-fashion-mnist package.

A stratified subset of real Fashion-MNIST in its original IDX gzip format: the first TRAIN_PER_CLASS
training images of each class and the first TEST_PER_CLASS test images of each class, in file order
(deterministic, no randomness). Standard library only.

    apt-get install dataset-fashion-mnist
    python3 scripts/make-fashion-mnist-sample.py [SOURCE_DIR] [TARGET_DIR]
"""
import gzip
import os
import struct
import sys

TRAIN_PER_CLASS = 300
TEST_PER_CLASS = 100


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return magic, dims, data[4 + 4 * ndim:]


def write_idx(path, magic, dims, payload):
    tmp = path + ".tmp"
    # mtime=0 keeps the gzip bytes identical from run to run.
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as f:
        f.write(struct.pack(">I", magic) + struct.pack(">" + "I" * len(dims), *dims) + payload)
    os.replace(tmp, path)


def subset(source, target, prefix, per_class):
    imagic, idims, images = read_idx(os.path.join(source, f"{prefix}-images-idx3-ubyte.gz"))
    lmagic, ldims, labels = read_idx(os.path.join(source, f"{prefix}-labels-idx1-ubyte.gz"))
    size = idims[1] * idims[2]
    taken, counts = [], [0] * 10
    for i, label in enumerate(labels):
        if counts[label] < per_class:
            counts[label] += 1
            taken.append(i)
    write_idx(os.path.join(target, f"{prefix}-images-idx3-ubyte.gz"), imagic, (len(taken), idims[1], idims[2]),
              b"".join(images[i * size:(i + 1) * size] for i in taken))
    write_idx(os.path.join(target, f"{prefix}-labels-idx1-ubyte.gz"), lmagic, (len(taken),),
              bytes(labels[i] for i in taken))
    print(f"{prefix}: {len(taken)} images, per class {counts}")


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    target = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "data", "fashion-mnist-sample")
    os.makedirs(target, exist_ok=True)
    subset(source, target, "train", TRAIN_PER_CLASS)
    subset(source, target, "t10k", TEST_PER_CLASS)


if __name__ == "__main__":
    main()
