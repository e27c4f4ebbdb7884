"""Named convolutional networks through the whole run path: ``RunConfig(net=...)`` and
``sibp-ref train --net``, from data files in the published formats (CIFAR-10 binary
batches, MNIST IDX) to finished logs; tiny generated files keep it fast."""

from __future__ import annotations

import math

import numpy as np
import pytest

import sibp_ref
from sibp_ref import layers, nets
from sibp_ref.data import idx
from sibp_ref.data.cifar import CIFAR_RECORD, CIFAR_TEST, CIFAR_TRAIN
from sibp_ref.run import RunConfig, cli, read_log
from sibp_ref.run.config import run_config
from tests.data_files import isolate, write_fake_idx

FAST = {"sgd": {"lr": 0.05}, "sibp": {"iters": 2}}


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    return isolate(monkeypatch, tmp_path)


def write_cifar(folder, n_per_batch=4, seed=0):
    """The six CIFAR-10 binary batch files, each ``n_per_batch`` random records."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name in [*CIFAR_TRAIN, *CIFAR_TEST]:
        rec = rng.integers(0, 256, (n_per_batch, CIFAR_RECORD), dtype=np.uint8)
        rec[:, 0] = rng.integers(0, 10, n_per_batch)
        (folder / name).write_bytes(rec.tobytes())
    return folder


@pytest.fixture
def fake_mnist(isolated, monkeypatch):
    """Generated MNIST IDX files, registered as the published ones for the checksum."""
    sums = write_fake_idx(isolated / "mnist", n_train=12, n_test=4)
    monkeypatch.setitem(idx.KNOWN_SHA256, "mnist", sums)
    return isolated / "mnist"


def _finished(h):
    assert h.status == "finished" and [r["epoch"] for r in h.records] == [0, 1]
    for rec in h.records:
        assert all(math.isfinite(rec[k]) for k in ("train_loss", "test_loss", "train_acc")), rec


@pytest.mark.parametrize("method", ["sgd", "sibp"])
def test_lenet_cifar_trains_an_epoch_from_cifar10_binary_files(isolated, method):
    folder = write_cifar(isolated / "cifar")
    cfg = RunConfig(
        method=method,
        hyper=FAST[method],
        dataset="cifar10",
        net="lenet-cifar",
        epochs=1,
        n_train=8,
        batch_size=4,
        data_dir=str(folder),
    )
    h = run_config(cfg)
    _finished(h)
    assert h.settings["sizes"][0] == 3072 and h.settings["sizes"][-1] == 10


@pytest.mark.parametrize("method", ["sgd", "sibp"])
def test_lenet5_trains_an_epoch_from_mnist_idx_files(fake_mnist, method):
    cfg = RunConfig(
        method=method,
        hyper=FAST[method],
        dataset="mnist",
        net="lenet5",
        epochs=1,
        n_train=8,
        batch_size=4,
        data_dir=str(fake_mnist),
    )
    _finished(run_config(cfg))


def test_a_config_without_a_net_has_no_net_setting_and_a_net_changes_the_key():
    plain = RunConfig(method="sgd", dataset="mnist")
    assert "net" not in plain.settings() and plain.settings()["hidden"] == [64, 64]
    conv = RunConfig(method="sgd", dataset="mnist", net="lenet5")
    s = conv.settings()
    assert s["net"] == "lenet5" and not {"hidden", "sizes", "activation"} & set(s)
    assert conv.key() != plain.key()
    assert RunConfig(**s).key() == conv.key()  # a log's config rebuilds its key


def test_a_net_that_does_not_fit_the_data_says_what_it_takes(isolated):
    folder = write_cifar(isolated / "cifar")
    cfg = RunConfig(dataset="cifar10", net="lenet5", epochs=1, data_dir=str(folder))
    with pytest.raises(ValueError, match=r"'lenet5' takes 1×28×28 images \(784 features\)"):
        run_config(cfg)
    with pytest.raises(ValueError, match="use net='lenet-cifar'"):
        run_config(cfg)
    with pytest.raises(ValueError, match="leave sizes unset"):
        run_config(RunConfig(net="lenet5", sizes=(784, 10), data_dir=str(folder)))


def test_cli_train_net_runs_and_bcd_on_a_conv_net_says_it_is_dense_only(
    fake_mnist, tmp_path, capsys
):
    common = ["--dataset", "mnist", "--data-dir", str(fake_mnist), "--net", "lenet5"]
    common += ["--n-train", "8", "--batch-size", "4", "--epochs", "1", "-q"]
    rc = cli.main(["train", "sgd", *common, "--out", str(tmp_path / "a")])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert list((tmp_path / "a").glob("sgd-*.jsonl"))
    rc = cli.main(["train", "bcd", *common, "--out", str(tmp_path / "b")])
    out, err = capsys.readouterr()
    assert rc == 2 and "BCD supports only dense networks" in err and "Conv2d" in err
    rc = cli.main(["train", "sgd", *common, "--hidden", "30", "--out", str(tmp_path / "c")])
    assert rc == 2 and "--hidden does not apply with --net lenet5" in capsys.readouterr().err
    assert cli.main(["train", "sgd", "--net", "lenet7", *common[:4], "--out", str(tmp_path)]) == 2
    assert "unknown net 'lenet7' (did you mean 'lenet5'?)" in capsys.readouterr().err


def test_the_conv_nets_default_to_a_fan_in_scaled_init_recorded_in_the_log(fake_mnist, tmp_path):
    common = ["--dataset", "mnist", "--data-dir", str(fake_mnist), "--net", "lenet5", "-q"]
    assert cli.main(["train", "sgd", *common, "--n-train", "8", "--epochs", "0",
                     "--out", str(tmp_path)]) == 0  # fmt: skip
    (log,) = tmp_path.glob("*.jsonl")
    assert read_log(log).settings["config"]["init_std"] == "fan_in"
    net = nets.lenet5()
    W = net.init(std="fan_in")
    for (Wi, _), blk in zip(W, net.blocks, strict=True):  # 1/sqrt(fan-in), fan-in = columns
        assert abs(Wi.std() * (blk.layer.weight_shape[1] ** 0.5) - 1) < 0.2


def test_the_conv_layers_and_nets_are_exported():
    assert sibp_ref.Conv2d is layers.Conv2d and sibp_ref.MaxPool2d is layers.MaxPool2d
    assert sibp_ref.Flatten is layers.Flatten
    assert sibp_ref.lenet5 is nets.lenet5 and sibp_ref.lenet_cifar is nets.lenet_cifar


def test_cli_compare_on_a_conv_net_skips_bcd_with_a_note_and_runs_the_rest(
    fake_mnist, tmp_path, capsys
):
    rc = cli.main(
        ["compare", "sgd,bcd", "--dataset", "mnist", "--data-dir", str(fake_mnist)]
        + ["--net", "lenet5", "--n-train", "8", "--batch-size", "4", "--epochs", "1"]
        + ["-q", "--no-figure", "--workers", "1", "--out", str(tmp_path)]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "note: skipping bcd: BCD supports only dense networks" in err
    assert [p.name.split("-")[0] for p in tmp_path.glob("*.jsonl")] == ["sgd"]
