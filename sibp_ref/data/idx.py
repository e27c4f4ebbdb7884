"""The IDX file format (MNIST, Fashion-MNIST) and the checksums of the published files.

An IDX file is two zero bytes, a type code, the number of dimensions ``k``, ``k``
big-endian 32-bit sizes, then the values in C order. Files may be stored gzipped or raw;
checksums are taken over the *uncompressed* bytes, so any copy (however it was
compressed) can be verified. MNIST and Fashion-MNIST share the format and the shapes, so
only the checksum tells their files apart: :func:`check_sha256` says "these are the
MNIST files" when Fashion-MNIST's were expected (and vice versa), and "corrupt" only for
bytes that match no published file.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np

from .dataset import DataError

__all__ = ["KNOWN_SHA256", "DISPLAY_NAMES", "parse_idx", "read_bytes", "check_sha256", "read_idx"]

#: SHA-256 of the uncompressed IDX files as published.
KNOWN_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",  # noqa: E501
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",  # noqa: E501
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",  # noqa: E501
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",  # noqa: E501
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",  # noqa: E501
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",  # noqa: E501
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",  # noqa: E501
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",  # noqa: E501
    },
}

#: How the messages name each data set.
DISPLAY_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}

_IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into an array.

    Raises :class:`DataError` naming ``name`` for a wrong magic number, an unknown type,
    or a length that does not match the header.
    """
    if len(data) < 4:
        raise DataError(f"{name}: too short for an IDX header ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{name}: not an IDX file (magic number starts {data[:2].hex()}, expected 0000)"
        )
    if data[2] not in _IDX_TYPES:
        raise DataError(f"{name}: unknown IDX type code 0x{data[2]:02x}")
    ndim = data[3]
    if ndim < 1:
        raise DataError(f"{name}: IDX header declares 0 dimensions")
    head = 4 + 4 * ndim
    if len(data) < head:
        raise DataError(f"{name}: truncated header ({len(data)} bytes, need {head})")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dt = _IDX_TYPES[data[2]]
    want = head + int(np.prod(dims, dtype=object)) * dt.itemsize
    if len(data) != want:
        what = "truncated" if len(data) < want else "has trailing bytes"
        raise DataError(f"{name}: {what}: {len(data)} bytes, the header {dims} implies {want}")
    return np.frombuffer(data, dtype=dt, offset=head).reshape(dims).astype(dt.newbyteorder("="))


def read_bytes(path: Path) -> bytes:
    """Contents of ``path``, gunzipped when it is a gzip file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, ValueError) as exc:
            raise DataError(f"{path}: corrupt gzip data ({exc})") from exc
    return raw


def identify(sha256: str) -> tuple[str, str] | None:
    """``(data set, file stem)`` of the published file with this checksum, or None."""
    for name, files in KNOWN_SHA256.items():
        for stem, sha in files.items():
            if sha == sha256:
                return name, stem
    return None


def _mismatch_message(path: Path, got: str, expected: str, dataset: str | None) -> str:
    """Why ``path`` is not the expected file: another published file, or corrupt."""
    match = identify(got)
    if match is not None and dataset is not None:
        other, stem = match
        if other != dataset:
            mine, theirs = DISPLAY_NAMES.get(dataset, dataset), DISPLAY_NAMES.get(other, other)
            return (
                f"{path}: these are the {theirs} files, not {mine}'s (the SHA-256 of the "
                f"uncompressed bytes matches {theirs}'s {stem}); point --data-dir "
                f"(data_dir=...) at the {mine} folder"
            )
        return (
            f"{path}: this is {DISPLAY_NAMES.get(dataset, dataset)}'s {stem} under another "
            "file's name (its SHA-256 matches that file); restore the published file names"
        )
    return (
        f"{path}: SHA-256 of the uncompressed bytes is {got}, expected {expected}; "
        "the file is corrupt or not the published one (delete it and fetch it again)"
    )


def check_sha256(
    data: bytes, path: Path, expected: str | None, *, dataset: str | None = None
) -> None:
    """Raise :class:`DataError` unless ``data`` has the SHA-256 ``expected`` (None: no check).

    ``dataset`` is the data set whose file was expected; a checksum that belongs to another
    published file is then reported as that file, not as corruption.
    """
    if expected is None:
        return
    got = hashlib.sha256(data).hexdigest()
    if got != expected:
        raise DataError(_mismatch_message(path, got, expected, dataset))


def read_idx(
    path: str | os.PathLike, *, sha256: str | None = None, dataset: str | None = None
) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw), optionally checking its uncompressed SHA-256."""
    path = Path(path)
    data = read_bytes(path)
    check_sha256(data, path, sha256, dataset=dataset)
    return parse_idx(data, str(path))
