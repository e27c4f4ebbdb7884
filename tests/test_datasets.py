"""Data sets: the IDX parser (fuzzed), the checksums, where files are found, the opt-in
download (against a local HTTP server only), CIFAR-10 batches, subsets, generated data."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sibp_ref import datasets as D
from sibp_ref.datasets import DataError


def idx_bytes(a: np.ndarray) -> bytes:
    """An IDX file written from its definition (independent of the parser)."""
    code = {
        np.dtype("u1"): 8,
        np.dtype("i1"): 9,
        np.dtype("i2"): 11,
        np.dtype("i4"): 12,
        np.dtype("f4"): 13,
        np.dtype("f8"): 14,
    }[a.dtype]
    head = bytes([0, 0, code, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


def write_fake_idx(folder: Path, n_train=6, n_test=4, *, gz=True, seed=0) -> dict[str, str]:
    """Four small MNIST-shaped IDX files; returns stem -> SHA-256 of the uncompressed bytes."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    sums = {}
    for stem, a in arrays.items():
        b = idx_bytes(a)
        sums[stem] = hashlib.sha256(b).hexdigest()
        if gz:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(b))
        else:
            (folder / stem).write_bytes(b)
    return sums


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No env var, an empty cache, no Debian folder: only what a test puts there."""
    monkeypatch.delenv("SIBP_REF_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(D, "DEBIAN_FASHION", tmp_path / "debian")
    return tmp_path


# ------------------------------------------------------------------ IDX parser
@given(
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=3),
    dt=st.sampled_from(["u1", "i1", "i2", "i4", "f4", "f8"]),
    seed=st.integers(0, 99),
)
def test_idx_parser_inverts_the_format_definition(shape, dt, seed):
    a = (np.random.default_rng(seed).normal(size=shape) * 50).astype(dt)
    b = D.parse_idx(idx_bytes(a))
    assert b.shape == a.shape and b.dtype == a.dtype
    np.testing.assert_array_equal(b, a)


@given(st.binary(max_size=64))
def test_idx_parser_on_random_bytes_returns_or_raises_data_error(data):
    try:
        out = D.parse_idx(data, "fuzz")
    except DataError as exc:
        assert "fuzz" in str(exc)
    else:  # only a well-formed file parses: its size is exactly what its header says
        assert 4 + 4 * data[3] + out.nbytes == len(data)


@given(cut=st.integers(0, 4 + 12 + 2 * 3 * 3 - 1))
def test_idx_parser_rejects_every_truncation(cut):
    good = idx_bytes(np.arange(18, dtype=np.uint8).reshape(2, 3, 3))
    with pytest.raises(DataError, match="f.idx"):
        D.parse_idx(good[:cut], "f.idx")


def test_idx_parser_names_the_problem():
    good = idx_bytes(np.zeros((2, 3), np.uint8))
    with pytest.raises(DataError, match="magic"):
        D.parse_idx(b"\x01" + good[1:])
    with pytest.raises(DataError, match="type code 0x07"):
        D.parse_idx(good[:2] + b"\x07" + good[3:])
    with pytest.raises(DataError, match="trailing"):
        D.parse_idx(good + b"\x00")
    with pytest.raises(DataError, match="truncated"):
        D.parse_idx(good[:-1])


def test_read_idx_reads_gzip_and_raw_alike_and_checks_sha256(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    raw = idx_bytes(a)
    (tmp_path / "a").write_bytes(raw)
    (tmp_path / "a.gz").write_bytes(gzip.compress(raw))
    sha = hashlib.sha256(raw).hexdigest()
    np.testing.assert_array_equal(D.read_idx(tmp_path / "a", sha256=sha), a)
    np.testing.assert_array_equal(D.read_idx(tmp_path / "a.gz", sha256=sha), a)
    with pytest.raises(DataError, match=r"a\.gz: SHA-256 .* expected 0+"):
        D.read_idx(tmp_path / "a.gz", sha256="0" * 64)
    (tmp_path / "b.gz").write_bytes(gzip.compress(raw)[:-8])
    with pytest.raises(DataError, match=r"b\.gz: corrupt gzip"):
        D.read_idx(tmp_path / "b.gz")


# ------------------------------------------------------------------ locating files
def test_data_is_found_in_order_dir_env_cache_debian(isolated, monkeypatch):
    t = isolated
    for name, seed in (
        ("explicit", 1),
        ("env", 2),
        ("cache/sibp_ref/fashion-mnist", 3),
        ("debian", 4),
    ):
        write_fake_idx(t / name, seed=seed)
    monkeypatch.setenv("SIBP_REF_DATA", str(t / "env"))

    def source():
        return D.load_mnist_arrays("fashion-mnist", data_dir, verify=False)[4][
            "train_images"
        ].parent

    data_dir = t / "explicit"
    assert source() == t / "explicit"
    data_dir = None
    assert source() == t / "env"
    monkeypatch.delenv("SIBP_REF_DATA")
    assert source() == t / "cache/sibp_ref/fashion-mnist"
    import shutil

    shutil.rmtree(t / "cache")
    assert source() == t / "debian"


def test_missing_data_set_says_where_it_looked_and_how_to_provide_it(isolated):
    with pytest.raises(DataError) as info:
        D.load_mnist("mnist", isolated / "nowhere")
    msg = str(info.value)
    assert str(isolated / "nowhere") in msg and "SIBP_REF_DATA" in msg
    assert "sibp-ref fetch mnist" in msg and "--data-dir" in msg


def test_checksum_mismatch_names_the_file(isolated):
    write_fake_idx(isolated / "d" / "mnist")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte\.gz: SHA-256"):
        D.load_mnist("mnist", isolated / "d")


def test_labels_that_do_not_match_the_images_are_an_error(isolated):
    d = isolated / "d"
    write_fake_idx(d, n_train=6)
    (d / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(5, np.uint8))))
    with pytest.raises(DataError, match="5 labels for the 6 images"):
        D.load_mnist_arrays("mnist", d, verify=False)


def test_fake_files_load_as_columns_in_unit_range_with_one_hot_labels(isolated):
    d = isolated / "d"
    write_fake_idx(d, n_train=6, n_test=4, gz=False)
    Xtr, ytr, *_ = D.load_mnist_arrays("mnist", d, verify=False)
    ds = D.load_mnist("mnist", d, verify=False, dtype="float64")
    assert ds.X_train.shape == (784, 6) and ds.Y_test.shape == (10, 4)
    np.testing.assert_allclose(np.asarray(ds.X_train)[:, 2], Xtr[2].ravel() / 255.0)
    np.testing.assert_array_equal(np.argmax(np.asarray(ds.Y_train), axis=0), ytr)
    np.testing.assert_array_equal(np.asarray(ds.Y_train).sum(axis=0), 1.0)


# ------------------------------------------------------------------ real data
def test_mnist_matches_the_published_sanity_figures(data_dir):
    Xtr, ytr, Xte, yte, _ = D.load_mnist_arrays("mnist", data_dir)
    assert Xtr.shape == (60000, 28, 28) and Xte.shape == (10000, 28, 28)
    assert Xtr.mean() == pytest.approx(33.318, abs=1e-3)
    assert Xtr.std() == pytest.approx(78.567, abs=1e-3)
    assert np.bincount(ytr).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_fashion_mnist_subsets_as_the_paper_uses_them(data_dir):
    ds = D.load_dataset("fashion-mnist", data_dir=data_dir)
    assert (ds.n_features, ds.num_classes, ds.n_train, ds.n_test) == (784, 10, 60000, 10000)
    assert ds.X_train.dtype == np.float32
    assert float(ds.X_train.min()) == 0.0 and float(ds.X_train.max()) == 1.0
    assert np.asarray(ds.Y_train).sum(axis=1).tolist() == [6000.0] * 10
    first = ds.subset(2000)
    np.testing.assert_array_equal(first.X_train, ds.X_train[:, :2000])
    r1, r2 = ds.subset(2000, mode="random", seed=3), ds.subset(2000, mode="random", seed=3)
    np.testing.assert_array_equal(r1.X_train, r2.X_train)
    assert not np.array_equal(r1.X_train, first.X_train)
    assert r1.n_test == 10000 and r1.info["subset_seed"] == 3


# ------------------------------------------------------------------ CIFAR-10
def _cifar_batch(rng, n):
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    pix = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    return np.concatenate([labels[:, None], pix], axis=1), labels, pix


def test_cifar10_binary_batches_load_channel_major(isolated):
    d = isolated / "c" / "cifar-10-batches-bin"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    want_pix, want_lab = [], []
    for name in [*D.CIFAR_TRAIN, *D.CIFAR_TEST]:
        rec, lab, pix = _cifar_batch(rng, 3)
        (d / name).write_bytes(rec.tobytes())
        if name != "test_batch.bin":
            want_pix.append(pix)
            want_lab.append(lab)
    ds = D.load_dataset("cifar10", data_dir=isolated / "c", dtype="float64")
    assert ds.X_train.shape == (3072, 15) and ds.X_test.shape == (3072, 3)
    np.testing.assert_allclose(ds.X_train, np.concatenate(want_pix).T / 255.0)
    np.testing.assert_array_equal(np.argmax(ds.Y_train, axis=0), np.concatenate(want_lab))
    (d / "data_batch_3.bin").write_bytes(rec.tobytes()[:-1])
    with pytest.raises(DataError, match="data_batch_3.bin: .*not a whole number"):
        D.load_cifar10(isolated / "c")
    rec[0, 0] = 10
    (d / "data_batch_3.bin").write_bytes(rec.tobytes())
    with pytest.raises(DataError, match="data_batch_3.bin: label byte 10"):
        D.load_cifar10(isolated / "c")


def test_missing_cifar10_points_to_the_binary_version(isolated):
    with pytest.raises(DataError, match="cifar-10-binary"):
        D.load_cifar10(isolated / "none")


# ------------------------------------------------------------------ download
@pytest.fixture
def http_server(tmp_path):
    """A local server on 127.0.0.1 serving tmp_path/www (never the network)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield root, f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    srv.server_close()


def test_fetch_downloads_verifies_and_writes_atomically(http_server, tmp_path):
    root, url = http_server
    sums = write_fake_idx(root / "good")
    dest = tmp_path / "dest"
    # the first mirror has nothing: the second is used
    D.fetch("mnist", dest, mirrors=[url + "missing/", url + "good/"], checksums=sums)
    assert sorted(p.name for p in dest.iterdir()) == sorted(s + ".gz" for s in sums)
    for stem, sha in sums.items():
        assert (
            hashlib.sha256(gzip.decompress((dest / (stem + ".gz")).read_bytes())).hexdigest() == sha
        )


def test_fetch_rejects_a_corrupt_download_and_leaves_no_file(http_server, tmp_path):
    root, url = http_server
    sums = write_fake_idx(root / "bad")
    sums["train-images-idx3-ubyte"] = "f" * 64
    dest = tmp_path / "dest"
    with pytest.raises(DataError, match="could not download train-images"):
        D.fetch("mnist", dest, mirrors=[url + "bad/"], checksums=sums)
    assert not (dest / "train-images-idx3-ubyte.gz").exists()
    assert not any(p.name.endswith(".part") for p in dest.iterdir())


def test_download_true_fills_the_cache_then_loads(http_server, isolated, monkeypatch):
    root, url = http_server
    sums = write_fake_idx(root / "m", n_train=5)
    monkeypatch.setitem(D.MIRRORS, "mnist", [url + "m/"])
    monkeypatch.setitem(D.KNOWN_SHA256, "mnist", sums)
    ds = D.load_dataset("mnist", download=True)
    assert ds.n_train == 5
    assert (isolated / "cache" / "sibp_ref" / "mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_fetch_refuses_unknown_data_sets():
    with pytest.raises(ValueError, match="downloadable: mnist, fashion-mnist"):
        D.fetch("cifar10")


# ------------------------------------------------------------------ generated, by name
def test_synthetic_data_is_reproducible_balanced_enough_and_in_unit_range():
    a = D.make_synthetic(300, 100, d=12, num_classes=4, informative=5, seed=7)
    b = D.load_dataset(
        "synthetic", n_train=300, n_test=100, d=12, num_classes=4, informative=5, seed=7
    )
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert a.X_train.shape == (12, 300) and a.Y_test.shape == (4, 100)
    assert float(a.X_train.min()) == 0.0 and float(a.X_train.max()) == 1.0
    counts = np.asarray(a.Y_train).sum(axis=1)
    assert counts.min() > 30  # every class present in a fair share
    c = D.make_synthetic(300, 100, d=12, num_classes=4, informative=5, seed=8)
    assert not np.array_equal(a.X_train, c.X_train)


def test_synthetic_data_lands_on_the_requested_backend(xp):
    from sibp_ref import backend as B

    ds = D.make_synthetic(20, 10, d=6, num_classes=3, informative=3, xp=xp, dtype="float64")
    assert B.backend_name(B.namespace(ds.X_train)) == B.backend_name(xp)
    assert ds.X_train.dtype == xp.float64
    assert ds.subset(5, mode="random", seed=1).X_train.shape == (6, 5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_train": 0}, "n_train must be a positive integer"),
        ({"informative": 40, "d": 8}, "informative"),
    ],
)
def test_bad_synthetic_arguments_are_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        D.make_synthetic(**kwargs)


def test_bad_names_and_subsets_are_value_errors():
    with pytest.raises(ValueError, match="unknown data set 'imagenet'; choose one of"):
        D.load_dataset("imagenet")
    ds = D.make_synthetic(10, 5, d=4, informative=2, num_classes=2)
    with pytest.raises(ValueError, match="only 10 training samples"):
        ds.subset(11)
    with pytest.raises(ValueError, match="'first' or 'random'"):
        ds.subset(5, mode="last")
