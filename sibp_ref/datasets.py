"""Data sets as the paper uses them: samples as columns, pixels in [0, 1], one-hot labels.

- MNIST and Fashion-MNIST from the standard IDX files (``.gz`` or raw). The parser
  checks the magic number, the dimensions and the length, and the loader checks
  the SHA-256 of the *uncompressed* bytes against the published files, so any copy
  (however it was compressed) can be verified.
- CIFAR-10 from its binary batches (1 label byte + 3072 channel-major pixel bytes
  per record).
- A generated classification problem (:func:`make_synthetic`) that needs no download,
  for the built-in default of ``sibp-ref compare``.
- Subsets as the paper uses them: the first or a random ``n`` training samples
  (2 000 Fashion-MNIST samples for Fig. 11, 10 000 MNIST samples for Fig. 10).

Where the files are looked for, in order: an explicit ``data_dir``; the environment
variable ``SIBP_REF_DATA``; the per-user cache ``$XDG_CACHE_HOME/sibp_ref`` (default
``~/.cache/sibp_ref``); and, for Fashion-MNIST, Debian's ``/usr/share/datasets/fashion-mnist``
(package ``dataset-fashion-mnist``). In each, a data set's files may sit directly or
in a sub-folder named after it (``mnist/``, ``fashion-mnist/``, ``cifar-10-batches-bin/``).
Nothing is downloaded unless asked (``download=True`` or ``sibp-ref fetch``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from . import backend as B

__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "parse_idx",
    "read_idx",
    "search_dirs",
    "load_mnist",
    "load_mnist_arrays",
    "from_numpy",
    "cache_dir",
    "load_cifar10",
    "make_synthetic",
    "fetch",
    "load_dataset",
]

ENV_VAR = "SIBP_REF_DATA"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

#: SHA-256 of the uncompressed IDX files (``../shared/data/README.md``).
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

CIFAR_DIRNAME = "cifar-10-batches-bin"
CIFAR_TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
CIFAR_TEST = ["test_batch.bin"]
CIFAR_RECORD = 1 + 3 * 32 * 32

DATASETS = ("synthetic", "mnist", "fashion-mnist", "cifar10")


class DataError(ValueError):
    """A data set is missing, corrupt, truncated or does not match its checksum."""


# --------------------------------------------------------------------------- IDX
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

    Layout: two zero bytes, a type code, the number of dimensions ``k``, then ``k``
    big-endian 32-bit sizes, then the values in C order. Raises :class:`DataError`
    naming ``name`` for a wrong magic number, an unknown type, or a length that does
    not match the header.
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


def _read_bytes(path: Path) -> bytes:
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


def _check_sha(data: bytes, path: Path, expected: str | None) -> None:
    if expected is None:
        return
    got = hashlib.sha256(data).hexdigest()
    if got != expected:
        raise DataError(
            f"{path}: SHA-256 of the uncompressed bytes is {got}, expected {expected}; "
            "the file is corrupt or not the published one (delete it and fetch it again)"
        )


def read_idx(path: str | os.PathLike, *, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw), optionally checking its uncompressed SHA-256."""
    path = Path(path)
    data = _read_bytes(path)
    _check_sha(data, path, sha256)
    return parse_idx(data, str(path))


# ------------------------------------------------------------------ finding files
def cache_dir() -> Path:
    """The per-user cache: ``$XDG_CACHE_HOME/sibp_ref`` or ``~/.cache/sibp_ref``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sibp_ref"


def search_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for data set ``name``, in order (see the module docstring)."""
    roots: list[Path] = []
    if data_dir is not None:
        roots.append(Path(data_dir))
    if os.environ.get(ENV_VAR):
        roots.append(Path(os.environ[ENV_VAR]))
    roots.append(cache_dir())
    sub = CIFAR_DIRNAME if name == "cifar10" else name
    dirs: list[Path] = []
    for r in roots:
        dirs += [r, r / sub]
        if name == "cifar10":
            dirs.append(r / "cifar10" / CIFAR_DIRNAME)
    if name == "fashion-mnist":
        dirs.append(DEBIAN_FASHION)
    return dirs


def _find_file(d: Path, stem: str) -> Path | None:
    for cand in (d / stem, d / (stem + ".gz")):
        if cand.is_file():
            return cand
    return None


def _missing_message(name: str, dirs: Sequence[Path], need: str) -> str:
    where = ", ".join(str(d) for d in dirs)
    how = (
        f"pass --data-dir DIR (data_dir=...), set {ENV_VAR}=DIR, or copy the files into "
        f"{cache_dir() / name}"
    )
    if name in MIRRORS:
        how += f", or download them with `sibp-ref fetch {name}` (fetch(...) / download=True)"
    if name == "fashion-mnist":
        how += ", or apt install dataset-fashion-mnist"
    if name == "cifar10":
        how += (
            " (the binary version, cifar-10-binary.tar.gz from "
            "https://www.cs.toronto.edu/~kriz/cifar.html, unpacked)"
        )
    return f"data set {name!r} not found: looked for {need} in {where}; {how}"


def _locate_idx(name: str, data_dir) -> dict[str, Path]:
    dirs = search_dirs(name, data_dir)
    for d in dirs:
        files = {k: _find_file(d, stem) for k, stem in IDX_FILES.items()}
        if all(files.values()):
            return files  # type: ignore[return-value]
    raise DataError(
        _missing_message(name, dirs, "the four IDX files (train-images-idx3-ubyte[.gz], ...)")
    )


# ------------------------------------------------------------------ the data set
@dataclass
class Dataset:
    """A classification data set on one backend: samples are columns.

    ``X_train`` is ``(d, n_train)`` in ``[0, 1]`` (for images), ``Y_train`` is one-hot
    ``(C, n_train)``; likewise the test split. ``info`` records where it came from.
    """

    name: str
    X_train: Any
    Y_train: Any
    X_test: Any
    Y_test: Any
    info: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def num_classes(self) -> int:
        return int(self.Y_train.shape[0])

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_test(self) -> int:
        return int(self.X_test.shape[1])

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, d={self.n_features}, classes={self.num_classes}, "
            f"train={self.n_train}, test={self.n_test})"
        )

    def subset(self, n: int, *, mode: str = "first", seed: int = 0) -> Dataset:
        """The first (``mode="first"``) or a random (``"random"``, with ``seed``) ``n``
        training samples; the test split is kept whole."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"subset size must be a positive integer, got {n!r}")
        if n > self.n_train:
            raise ValueError(
                f"subset of {n} samples asked from {self.name!r}, which has "
                f"only {self.n_train} training samples"
            )
        if mode == "first":
            X, Y = self.X_train[:, :n], self.Y_train[:, :n]
        elif mode == "random":
            xp = B.namespace(self.X_train)
            idx = np.sort(np.random.default_rng(seed).choice(self.n_train, n, replace=False))
            idx = B.asarray(idx, xp, device=B.device_of(self.X_train))
            X = xp.take(self.X_train, idx, axis=1)
            Y = xp.take(self.Y_train, idx, axis=1)
        else:
            raise ValueError(f"subset mode must be 'first' or 'random', got {mode!r}")
        info = dict(
            self.info,
            subset=n,
            subset_mode=mode,
            **({"subset_seed": seed} if mode == "random" else {}),
        )
        return replace(self, X_train=X, Y_train=Y, info=info)


def _one_hot_np(labels: np.ndarray, C: int) -> np.ndarray:
    return (np.arange(C)[:, None] == labels[None, :]).astype(np.float64)


def from_numpy(
    name: str,
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    num_classes: int | None = None,
    xp: ModuleType | str = "numpy",
    dtype: Any = "float32",
    device: Any = None,
    info: dict | None = None,
    scale: float = 1.0,
) -> Dataset:
    """A :class:`Dataset` from host arrays with samples as **rows** and integer labels.

    Features are flattened per sample, multiplied by ``scale`` (``1/255`` for pixels) in
    the target precision, and transposed to columns; labels become one-hot.
    """
    xp = B.get_backend(xp)
    y_train = np.asarray(y_train).astype(np.int64)
    y_test = np.asarray(y_test).astype(np.int64)
    C = int(num_classes or max(y_train.max(initial=0), y_test.max(initial=0)) + 1)

    host = np.float32 if str(dtype).endswith("float32") else np.float64

    def put(a):
        return B.asarray(np.ascontiguousarray(a), xp, dtype=dtype, device=device)

    def features(a, n):  # in the target precision: MNIST in float64 would take 376 MB
        a = np.asarray(a).reshape(n, -1).astype(host)
        return (a * host(scale) if scale != 1.0 else a).T

    Xtr, Xte = features(X_train, len(y_train)), features(X_test, len(y_test))
    return Dataset(
        name,
        put(Xtr),
        put(_one_hot_np(y_train, C)),
        put(Xte),
        put(_one_hot_np(y_test, C)),
        dict(info or {}),
    )


# ------------------------------------------------------------------ MNIST & co.
def load_mnist_arrays(
    name: str = "mnist", data_dir=None, *, download: bool = False, verify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Path]]:
    """Host arrays ``(train_images (n,28,28) uint8, train_labels, test_images, test_labels,
    files)`` of MNIST or Fashion-MNIST, checked (see the module docstring)."""
    if name not in KNOWN_SHA256:
        raise ValueError(f"unknown IDX data set {name!r}; choose mnist or fashion-mnist")
    try:
        files = _locate_idx(name, data_dir)
    except DataError:
        if not download:
            raise
        fetch(name)
        files = _locate_idx(name, data_dir)
    arrays = {}
    for key, path in files.items():
        stem = IDX_FILES[key]
        arrays[key] = read_idx(path, sha256=KNOWN_SHA256[name][stem] if verify else None)
    for split in ("train", "test"):
        im, lb = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        p_im, p_lb = files[f"{split}_images"], files[f"{split}_labels"]
        if im.ndim != 3 or im.shape[1:] != (28, 28) or im.dtype != np.uint8:
            raise DataError(
                f"{p_im}: expected uint8 images of shape (n, 28, 28), got {im.dtype} {im.shape}"
            )
        if lb.ndim != 1 or lb.dtype != np.uint8:
            raise DataError(f"{p_lb}: expected a 1-d uint8 label file, got {lb.dtype} {lb.shape}")
        if len(lb) != len(im):
            raise DataError(f"{p_lb}: {len(lb)} labels for the {len(im)} images of {p_im}")
        if len(lb) and lb.max() > 9:
            raise DataError(f"{p_lb}: label {int(lb.max())} outside 0-9")
    return (
        arrays["train_images"],
        arrays["train_labels"],
        arrays["test_images"],
        arrays["test_labels"],
        files,
    )


def load_mnist(
    name: str = "mnist",
    data_dir=None,
    *,
    xp: ModuleType | str = "numpy",
    dtype: Any = "float32",
    device: Any = None,
    download: bool = False,
    verify: bool = True,
) -> Dataset:
    """MNIST or Fashion-MNIST as a :class:`Dataset`: ``X`` is ``(784, n)`` in ``[0, 1]``."""
    Xtr, ytr, Xte, yte, files = load_mnist_arrays(name, data_dir, download=download, verify=verify)
    info = {"source": str(files["train_images"].parent), "verified_sha256": verify}
    return from_numpy(
        name,
        Xtr,
        ytr,
        Xte,
        yte,
        num_classes=10,
        xp=xp,
        dtype=dtype,
        device=device,
        info=info,
        scale=1 / 255,
    )


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = _read_bytes(path)
    if len(data) == 0 or len(data) % CIFAR_RECORD:
        raise DataError(
            f"{path}: {len(data)} bytes is not a whole number of CIFAR-10 "
            f"records of {CIFAR_RECORD} bytes (truncated or not a CIFAR-10 batch)"
        )
    rec = np.frombuffer(data, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    labels = rec[:, 0]
    if labels.max() > 9:
        raise DataError(
            f"{path}: label byte {int(labels.max())} outside 0-9 "
            "(not the binary version of CIFAR-10?)"
        )
    return rec[:, 1:], labels


def load_cifar10(
    data_dir=None,
    *,
    xp: ModuleType | str = "numpy",
    dtype: Any = "float32",
    device: Any = None,
) -> Dataset:
    """CIFAR-10 from its binary batches: ``X`` is ``(3072, n)`` in ``[0, 1]``, channel-major
    (1024 red, 1024 green, 1024 blue values per image, as stored)."""
    dirs = search_dirs("cifar10", data_dir)
    for d in dirs:
        train = [_find_file(d, f) for f in CIFAR_TRAIN]
        test = [_find_file(d, f) for f in CIFAR_TEST]
        if all(train) and all(test):
            break
    else:
        raise DataError(
            _missing_message("cifar10", dirs, f"{', '.join(CIFAR_TRAIN)}, {CIFAR_TEST[0]}")
        )
    tr = [_read_cifar_batch(p) for p in train]
    te = [_read_cifar_batch(p) for p in test]
    Xtr = np.concatenate([a for a, _ in tr])
    ytr = np.concatenate([b for _, b in tr])
    Xte = np.concatenate([a for a, _ in te])
    yte = np.concatenate([b for _, b in te])
    return from_numpy(
        "cifar10",
        Xtr,
        ytr,
        Xte,
        yte,
        num_classes=10,
        xp=xp,
        dtype=dtype,
        device=device,
        info={"source": str(d)},
        scale=1 / 255,
    )


# ------------------------------------------------------------------ generated data
def make_synthetic(
    n_train: int = 4000,
    n_test: int = 2000,
    *,
    d: int = 32,
    num_classes: int = 10,
    clusters_per_class: int = 3,
    informative: int = 10,
    spread: float = 2.0,
    seed: int = 0,
    xp: ModuleType | str = "numpy",
    dtype: Any = "float32",
    device: Any = None,
) -> Dataset:
    """A generated classification problem that needs no download.

    Each class is a mixture of ``clusters_per_class`` Gaussian clusters whose centres are
    drawn ``N(0, 1)`` in an ``informative``-dimensional subspace; the clusters have standard
    deviation ``spread/√informative`` there, so classes overlap (the test accuracy stays
    below 100 %) and are not linearly separable (a hidden layer helps). A random rotation
    embeds them in ``d`` dimensions with a little noise in the rest; features are then scaled
    to ``[0, 1]`` with the training split's range, like pixels.
    """
    for nm, v in (
        ("n_train", n_train),
        ("n_test", n_test),
        ("d", d),
        ("num_classes", num_classes),
        ("clusters_per_class", clusters_per_class),
        ("informative", informative),
    ):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{nm} must be a positive integer, got {v!r}")
    if informative > d:
        raise ValueError(f"informative ({informative}) must not exceed d ({d})")
    rng = np.random.default_rng(seed)
    k = informative
    centres = rng.normal(size=(num_classes * clusters_per_class, k))
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    sd = spread / np.sqrt(k)

    def draw(n):
        c = rng.integers(0, num_classes * clusters_per_class, size=n)
        Z = centres[c] + sd * rng.normal(size=(n, k))
        Z = np.concatenate([Z, 0.1 * sd * rng.normal(size=(n, d - k))], axis=1)
        return Z @ Q.T, c % num_classes

    Xtr, ytr = draw(n_train)
    Xte, yte = draw(n_test)
    lo, hi = Xtr.min(axis=0), Xtr.max(axis=0)
    scale = np.where(hi > lo, hi - lo, 1.0)
    Xtr, Xte = (Xtr - lo) / scale, (Xte - lo) / scale
    info = {
        "generator": "make_synthetic",
        "seed": seed,
        "d": d,
        "clusters_per_class": clusters_per_class,
        "informative": informative,
        "spread": spread,
    }
    return from_numpy(
        "synthetic",
        Xtr,
        ytr,
        Xte,
        yte,
        num_classes=num_classes,
        xp=xp,
        dtype=dtype,
        device=device,
        info=info,
    )


# ------------------------------------------------------------------ download
def fetch(
    name: str,
    dest: str | os.PathLike | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    timeout: float = 60.0,
    checksums: dict[str, str] | None = None,
) -> Path:
    """Download MNIST or Fashion-MNIST into ``dest`` (default: the cache, ``name/`` in it).

    Each file is fetched from the first mirror that answers, its uncompressed bytes are
    checked against the known SHA-256, and it is written atomically (a temporary file in
    the same folder, then renamed), so an interrupted download leaves nothing half-written.
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
        target = out / (stem + ".gz")
        if target.is_file():
            try:
                _check_sha(_read_bytes(target), target, sha)
                continue
            except DataError:
                pass  # fetch it again
        errors = []
        for base in urls:
            url = base.rstrip("/") + "/" + stem + ".gz"
            try:
                with urllib.request.urlopen(url, timeout=timeout) as r:
                    payload = r.read()
                data = gzip.decompress(payload) if payload[:2] == b"\x1f\x8b" else payload
                _check_sha(data, Path(url), sha)
            except (OSError, EOFError, DataError) as exc:
                errors.append(f"{url}: {exc}")
                continue
            fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{stem}.", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(gzip.compress(data) if payload[:2] != b"\x1f\x8b" else payload)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            break
        else:
            raise DataError(f"could not download {stem} for {name}: " + "; ".join(errors))
    return out


# ------------------------------------------------------------------ by name
def load_dataset(
    name: str,
    *,
    data_dir=None,
    xp: ModuleType | str = "numpy",
    dtype: Any = "float32",
    device: Any = None,
    n_train: int | None = None,
    subset: str = "first",
    seed: int = 0,
    download: bool = False,
    **synthetic_kwargs: Any,
) -> Dataset:
    """A data set by name (``synthetic``, ``mnist``, ``fashion-mnist``, ``cifar10``),
    optionally cut to ``n_train`` training samples (first or random, with ``seed``)."""
    key = str(name).lower().replace("_", "-")
    key = {"fashion": "fashion-mnist", "fmnist": "fashion-mnist", "cifar-10": "cifar10"}.get(
        key, key
    )
    if key == "synthetic":
        kw = dict(synthetic_kwargs)
        if n_train is not None:
            kw["n_train"] = n_train
        return make_synthetic(xp=xp, dtype=dtype, device=device, seed=seed, **kw)
    if synthetic_kwargs:
        raise TypeError(f"options {sorted(synthetic_kwargs)} apply only to the synthetic set")
    if key in ("mnist", "fashion-mnist"):
        ds = load_mnist(key, data_dir, xp=xp, dtype=dtype, device=device, download=download)
    elif key == "cifar10":
        ds = load_cifar10(data_dir, xp=xp, dtype=dtype, device=device)
    else:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    return ds if n_train is None else ds.subset(n_train, mode=subset, seed=seed)
