"""The opt-in downloader of MNIST and Fashion-MNIST (``sibp-ref fetch``, ``download=True``).

Each file is fetched from the first mirror that answers, its uncompressed bytes are
checked against the published SHA-256 (:mod:`sibp_ref.data.idx`), and it is written
atomically (a temporary file in the same folder, then renamed), so an interrupted download
leaves nothing half-written. Nothing else in the package touches the network.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from .dataset import DataError
from .idx import KNOWN_SHA256, check_sha256, read_bytes
from .paths import cache_dir

__all__ = ["MIRRORS", "fetch"]

#: Canonical mirrors of the gzipped IDX files, tried in order by :func:`fetch`.
MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ],
}


def _is_present(target: Path, sha: str) -> bool:
    """Whether ``target`` exists and holds the published bytes."""
    if not target.is_file():
        return False
    try:
        check_sha256(read_bytes(target), target, sha)
    except DataError:
        return False  # fetch it again
    return True


def _write_atomically(out: Path, stem: str, payload: bytes) -> None:
    """``out/stem.gz`` ← ``payload`` (gzipped), through a temporary file and a rename."""
    target = out / (stem + ".gz")
    data = payload if payload[:2] == b"\x1f\x8b" else gzip.compress(payload)
    fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{stem}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _download(url: str, sha: str, timeout: float) -> bytes:
    """The bytes at ``url`` (as served), after checking their uncompressed SHA-256."""
    with urllib.request.urlopen(url, timeout=timeout) as r:
        payload = r.read()
    data = gzip.decompress(payload) if payload[:2] == b"\x1f\x8b" else payload
    check_sha256(data, Path(url), sha)
    return payload


def _fetch_file(name: str, stem: str, sha: str, out: Path, urls: list[str], timeout) -> None:
    errors = []
    for base in urls:
        url = base.rstrip("/") + "/" + stem + ".gz"
        try:
            payload = _download(url, sha, timeout)
        except (OSError, EOFError, DataError) as exc:
            errors.append(f"{url}: {exc}")
            continue
        _write_atomically(out, stem, payload)
        return
    raise DataError(f"could not download {stem} for {name}: " + "; ".join(errors))


def fetch(
    name: str,
    dest: str | os.PathLike | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    timeout: float = 60.0,
    checksums: dict[str, str] | None = None,
) -> Path:
    """Download MNIST or Fashion-MNIST into ``dest`` (default: the cache, ``name/`` in it).

    Files already present and correct are kept. Returns the folder. ``checksums`` (file
    stem → SHA-256 of the uncompressed bytes) replaces the known ones (for tests).
    """
    if name not in MIRRORS:
        raise ValueError(f"cannot download {name!r}; downloadable: {', '.join(MIRRORS)}")
    out = Path(dest) if dest is not None else cache_dir() / name
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create {out} ({exc.strerror or exc}); pass another folder (--data-dir)"
        ) from exc
    urls = list(mirrors) if mirrors is not None else MIRRORS[name]
    for stem, sha in (checksums or KNOWN_SHA256[name]).items():
        if not _is_present(out / (stem + ".gz"), sha):
            _fetch_file(name, stem, sha, out, urls, timeout)
    return out
