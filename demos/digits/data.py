"""Digit images: the UCI 8×8 set shipped with glassgrad, MNIST files you have, downsampling.

The shipped set is the UCI "Optical Recognition of Handwritten Digits" data (1,797 images,
8×8, pixel values 0..16, themselves counts of on-pixels in 4×4 blocks of 32×32 bitmaps): see
``demos/data/README.md`` for its source, licence (CC BY 4.0) and citation. Loading it needs no
network; its SHA-256 is checked on every load.
"""

from __future__ import annotations

import gzip
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DIGITS_FILE = DATA_DIR / "digits.csv.gz"
DIGITS_SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
DIGITS_COUNT = 1797


class DataError(ValueError):
    """A data file that is missing, corrupt or not what it claims to be."""


@dataclass(repr=False)
class Dataset:
    """Images as floats in [0, 1], shape (n, side, side), and their labels 0..9."""

    images: np.ndarray
    labels: np.ndarray
    name: str

    def __repr__(self) -> str:  # the arrays would be thousands of numbers
        return f"Dataset({self.name!r}: {len(self.images):,} images of {self.side}×{self.side})"

    def __post_init__(self):
        if self.images.ndim != 3 or self.images.shape[1] != self.images.shape[2]:
            raise DataError(f"{self.name}: images must be (n, side, side), "
                            f"got {self.images.shape}")
        if len(self.images) != len(self.labels):
            raise DataError(f"{self.name}: {len(self.images)} images but "
                            f"{len(self.labels)} labels")

    @property
    def side(self) -> int:
        return self.images.shape[1]

    @property
    def inputs(self) -> np.ndarray:
        """One row of side² pixel values per image: what the network reads."""
        return self.images.reshape(len(self.images), -1)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index) -> Dataset:
        return Dataset(self.images[index], self.labels[index], self.name)


def load_digits(path: Path | str = DIGITS_FILE) -> Dataset:
    """The shipped UCI 8×8 digits, pixel values scaled from 0..16 to [0, 1].

    Raises :class:`DataError` if the file is missing or its checksum or contents are wrong.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} is missing: it ships with glassgrad (restore it with "
                        f"`git checkout -- {path.name}` in {path.parent}, or reinstall)")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != DIGITS_SHA256:
        raise DataError(f"{path} is corrupt: its SHA-256 is {digest}, expected {DIGITS_SHA256}")
    rows = np.loadtxt(gzip.decompress(raw).decode("ascii").splitlines(), delimiter=",",
                      dtype=np.int64)
    if rows.shape != (DIGITS_COUNT, 65):
        raise DataError(f"{path}: expected {DIGITS_COUNT} rows of 64 pixels and a label, "
                        f"got shape {rows.shape}")
    pixels, labels = rows[:, :64], rows[:, 64]
    if pixels.min() < 0 or pixels.max() > 16 or labels.min() < 0 or labels.max() > 9:
        raise DataError(f"{path}: pixel values must be 0..16 and labels 0..9")
    return Dataset(pixels.reshape(-1, 8, 8) / 16.0, labels, "UCI digits 8×8")


BITMAP_SIDE = 32  # the UCI digits were drawn as 32×32 bitmaps, then counted in 4×4 blocks
BLOCK = 4


def counts(bitmap) -> np.ndarray:
    """A 32×32 bitmap of 0s and 1s as the UCI digits were made from theirs: the number of
    on-pixels in each non-overlapping 4×4 block, an 8×8 image of counts 0..16 (int64)."""
    bitmap = np.asarray(bitmap)
    if bitmap.shape != (BITMAP_SIDE, BITMAP_SIDE):
        raise ValueError(f"a bitmap must be {BITMAP_SIDE}×{BITMAP_SIDE}, got shape "
                         f"{bitmap.shape}")
    if not np.isin(bitmap, (0, 1)).all():
        raise ValueError("a bitmap holds only 0s and 1s")
    side = BITMAP_SIDE // BLOCK
    return bitmap.astype(np.int64).reshape(side, BLOCK, side, BLOCK).sum(axis=(1, 3))


def downsample(images: np.ndarray, factor: int) -> np.ndarray:
    """Average each factor×factor block: (n, s, s) → (n, s/factor, s/factor).

    8×8 → 4×4 with factor 2 makes a 16-input network small enough to draw whole; MNIST's
    28×28 → 14×14 (factor 2) or 7×7 (factor 4). The mean of the pixels is preserved exactly.
    """
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise ValueError(f"downsample factor must be a positive integer, got {factor!r}")
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise ValueError(f"downsample expects images of shape (n, height, width), "
                         f"got {images.shape}")
    n, h, w = images.shape
    if h % factor or w % factor:
        raise ValueError(f"downsample factor {factor} does not divide the image size {h}×{w}")
    return images.reshape(n, h // factor, factor, w // factor, factor).mean(axis=(2, 4))


# --- MNIST IDX files ------------------------------------------------------------------------

_IDX_TYPES = {0x08: np.uint8}  # MNIST uses unsigned bytes; other IDX types are not needed


def read_idx(path: Path | str) -> np.ndarray:
    """An IDX file (gzipped or not) as a numpy array.

    The format: two zero bytes, a type byte (0x08 = unsigned byte), a byte giving the number of
    dimensions, each dimension as a big-endian 32-bit integer, then the data.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise DataError(f"{path}: gzip data is truncated or corrupt ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (magic "
                        f"{raw[:4].hex() or 'missing'}, expected 00000801 or 00000803)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated header ({len(raw)} bytes, {header} needed)")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    expected = int(np.prod(dims)) if dims else 1
    found = len(raw) - header
    if found != expected:
        raise DataError(f"{path}: {'truncated' if found < expected else 'too long'}: "
                        f"dimensions {dims} need {expected} bytes of data, found {found}")
    return np.frombuffer(raw, dtype=_IDX_TYPES[raw[2]], offset=header).reshape(dims)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (directory / name).is_file():
            return directory / name
    raise DataError(f"{directory}: no {stem} or {stem}.gz (the MNIST files, as published)")


def load_mnist(directory: Path | str, split: str = "train") -> Dataset:
    """MNIST images (28×28, pixel values scaled from 0..255 to [0, 1]) from files you have."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"--mnist: {directory} is not a directory")
    prefix = {"train": "train", "test": "t10k"}[split]
    images = read_idx(_find(directory, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(_find(directory, f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1:
        raise DataError(f"{directory}: MNIST images must be 3-D and labels 1-D, got "
                        f"{images.ndim}-D and {labels.ndim}-D")
    if len(images) != len(labels):
        raise DataError(f"{directory}: {len(images)} {split} images but {len(labels)} labels")
    if labels.max(initial=0) > 9:
        raise DataError(f"{directory}: labels must be 0..9, found {labels.max()}")
    return Dataset(images / 255.0, labels.astype(np.int64), f"MNIST {split}")


# --- Splitting ------------------------------------------------------------------------------

def stratified_split(labels: np.ndarray, test_fraction: float = 0.2, seed: int = 0):
    """(train indices, test indices), each class split in the same proportion, reproducibly.

    The test set has ⌈test_fraction · n⌉ images (360 of the 1,797 digits at 0.2); each class
    gets its share (largest remainders first), and which images of a class go to the test set
    is drawn from ``seed``.
    """
    labels = np.asarray(labels)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * test_fraction
    take = np.floor(quota).astype(int)
    leftover = math.ceil(test_fraction * len(labels)) - take.sum()
    take[np.argsort(-(quota - take), kind="stable")[:leftover]] += 1
    rng = np.random.default_rng(seed)
    test = []
    for c, k in zip(classes, take, strict=True):
        members = np.flatnonzero(labels == c)
        test.extend(rng.permutation(members)[:k])
    test = np.sort(np.array(test, dtype=np.int64))
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train, test
