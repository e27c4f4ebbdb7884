"""MNIST and Fashion-MNIST: where the files are found, what is checked, how they load;
with the real files (``SIBP_REF_DATA``) when present."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from sibp_ref import data as D
from sibp_ref.data import DataError
from tests.data_files import idx_bytes, isolate, write_fake_idx


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    return isolate(monkeypatch, tmp_path)


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
    shutil.rmtree(t / "cache")
    assert source() == t / "debian"


def test_locate_gives_the_four_files_of_the_first_folder_that_has_all_four(isolated):
    write_fake_idx(isolated / "a" / "mnist", gz=False)
    (isolated / "b").mkdir()
    (isolated / "b" / "train-images-idx3-ubyte").write_bytes(b"")  # one of four: skipped
    files = D.locate("MNIST", isolated / "a")
    assert files == {
        "train_images": isolated / "a" / "mnist" / "train-images-idx3-ubyte",
        "train_labels": isolated / "a" / "mnist" / "train-labels-idx1-ubyte",
        "test_images": isolated / "a" / "mnist" / "t10k-images-idx3-ubyte",
        "test_labels": isolated / "a" / "mnist" / "t10k-labels-idx1-ubyte",
    }
    assert D.available("mnist", isolated / "a")
    assert not D.available("mnist", isolated / "b")
    assert not D.available("fashion-mnist", isolated / "a")


def test_missing_data_set_says_where_it_looked_and_how_to_provide_it(isolated):
    for call in (
        lambda: D.load_mnist("mnist", isolated / "nowhere"),
        lambda: D.locate("mnist", isolated / "nowhere"),
    ):
        with pytest.raises(DataError) as info:
            call()
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


def test_generated_mnist_files_asked_for_as_fashion_mnist_are_named(isolated, monkeypatch):
    sums = write_fake_idx(isolated / "m")
    monkeypatch.setitem(D.idx.KNOWN_SHA256, "mnist", sums)
    with pytest.raises(DataError, match="these are the MNIST files, not Fashion-MNIST's"):
        D.load_dataset("fashion-mnist", data_dir=isolated / "m")
    assert D.load_dataset("mnist", data_dir=isolated / "m").n_train == 6


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


@pytest.mark.parametrize(
    "asked, folder, theirs",
    [("fashion-mnist", "mnist", "MNIST"), ("mnist", "fashion-mnist", "Fashion-MNIST")],
)
def test_real_files_of_the_other_data_set_are_named_not_called_corrupt(
    data_dir, asked, folder, theirs
):
    if not (data_dir / folder).is_dir():
        pytest.skip(f"{data_dir / folder} absent: SIBP_REF_DATA holds no {folder}/ folder")
    mine = D.idx.DISPLAY_NAMES[asked]
    with pytest.raises(DataError) as info:
        D.load_mnist_arrays(asked, data_dir / folder)
    msg = str(info.value)
    assert f"these are the {theirs} files, not {mine}'s" in msg
    assert f"point --data-dir (data_dir=...) at the {mine} folder" in msg
    assert "corrupt" not in msg


def test_a_real_file_with_one_byte_changed_is_corrupt(data_dir, isolated):
    src = data_dir / "fashion-mnist"
    if not src.is_dir():
        pytest.skip(f"{src} absent: SIBP_REF_DATA holds no fashion-mnist/ folder")
    dst = isolated / "f"
    shutil.copytree(src, dst)
    raw = bytearray(gzip.decompress((dst / "train-labels-idx1-ubyte.gz").read_bytes()))
    raw[100] = (raw[100] + 1) % 10
    (dst / "train-labels-idx1-ubyte.gz").unlink()
    (dst / "train-labels-idx1-ubyte").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="corrupt or not the published one") as info:
        D.load_mnist_arrays("fashion-mnist", dst)
    assert "train-labels-idx1-ubyte: SHA-256" in str(info.value)


def test_the_cli_names_mnist_files_given_for_fashion_mnist(data_dir, capsys, tmp_path):
    from sibp_ref.run import cli

    if not (data_dir / "mnist").is_dir():
        pytest.skip(f"{data_dir / 'mnist'} absent: SIBP_REF_DATA holds no mnist/ folder")
    argv = ["train", "sgd", "--dataset", "fashion-mnist", "--data-dir", str(data_dir / "mnist")]
    rc = cli.main([*argv, "--epochs", "1", "-q", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and len(err.splitlines()) == 1, err
    assert "these are the MNIST files, not Fashion-MNIST's" in err
    assert "point --data-dir (data_dir=...) at the Fashion-MNIST folder" in err
    assert "corrupt" not in err and "fetch it again" not in err
