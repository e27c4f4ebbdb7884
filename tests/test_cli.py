"""The command line: the main job, one-line errors with a fix, and the sub-commands."""

from __future__ import annotations

import json
import os

import pytest

from sibp_ref import methods as M
from sibp_ref.run import cli

QUICK = ["--epochs", "2", "--n-train", "300", "--hidden", "16", "-q"]


def run(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def check_main_job(capsys, tmp_path, monkeypatch, *argv):
    monkeypatch.chdir(tmp_path)
    rc, out, err = run(capsys, *argv)
    assert rc == 0, err
    png = tmp_path / "runs" / "compare-synthetic" / "compare.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "method" in out and "test acc" in out
    for m in M.MAIN_JOB.methods:  # each method either ran or was skipped with a note
        assert f"\n{m} " in out or f"skipping {m}:" in err
    assert "Traceback" not in err


def test_compare_defaults_print_a_table_and_write_a_png(capsys, tmp_path, monkeypatch):
    check_main_job(capsys, tmp_path, monkeypatch, "--epochs", "2")


@pytest.mark.slow
def test_compare_with_no_arguments_is_the_main_job(capsys, tmp_path, monkeypatch):
    check_main_job(capsys, tmp_path, monkeypatch)


def test_compare_resumes_finished_runs(capsys, tmp_path):
    argv = ["compare", "sgd,adam", *QUICK, "--out", str(tmp_path), "--no-figure"]
    assert run(capsys, *argv)[0] == 0
    logs = sorted(tmp_path.glob("*.jsonl"))
    assert len(logs) == 2
    before = [p.stat().st_mtime_ns for p in logs]
    rc, out, _ = run(capsys, *argv)
    assert rc == 0 and "sgd" in out
    assert [p.stat().st_mtime_ns for p in logs] == before


def test_train_writes_a_log_with_the_options_given(capsys, tmp_path):
    rc, out, err = run(
        capsys,
        "train",
        "momentum",
        *QUICK,
        "--lr",
        "0.05",
        "--momentum",
        "0.5",
        "--seed",
        "3",
        "--dtype",
        "float64",
        "--out",
        str(tmp_path),
    )
    assert rc == 0, err
    (log,) = tmp_path.glob("momentum-*.jsonl")
    head = json.loads(log.read_text().splitlines()[0])
    cfg = head["settings"]["config"]
    assert cfg["hyper"] == {"lr": 0.05, "momentum": 0.5}
    assert cfg["seed"] == 3 and head["settings"]["dtype"] == "float64"
    assert head["settings"]["sizes"] == [32, 16, 10]


def test_per_method_parameters_apply_to_that_method_only(capsys, tmp_path):
    rc, _, err = run(
        capsys,
        "compare",
        "sgd",
        "adam",
        *QUICK,
        "-p",
        "adam.lr=0.01",
        "--out",
        str(tmp_path),
        "--no-figure",
    )
    assert rc == 0, err
    hyper = {
        json.loads(p.read_text().splitlines()[0])["settings"]["config"]["method"]: json.loads(
            p.read_text().splitlines()[0]
        )["settings"]["config"]["hyper"]
        for p in tmp_path.glob("*.jsonl")
    }
    # sgd keeps the main job's setting on the synthetic problem; adam.lr reached adam only
    assert hyper == {"sgd": M.MAIN_JOB.hyper["sgd"], "adam": {"lr": 0.01}}
    assert M.MAIN_JOB.hyper["sgd"]["lr"] != 0.01


def config_hyper(tmp_path) -> dict:
    logs = sorted(tmp_path.glob("*.jsonl"))
    heads = [json.loads(p.read_text().splitlines()[0])["settings"]["config"] for p in logs]
    return {c["method"]: c["hyper"] for c in heads}


def test_an_option_changes_that_one_setting_of_the_main_job_and_nothing_else(capsys, tmp_path):
    rc, _, err = run(capsys, "compare", "proxbp", *QUICK, "--lam", "0.5", "--out",
                     str(tmp_path), "--no-figure")  # fmt: skip
    assert rc == 0, err
    # the main job's eta (10), not the registry's default (1), with the lam that was given
    assert config_hyper(tmp_path) == {"proxbp": {"eta": 10.0, "lam": 0.5}}
    assert M.MAIN_JOB.hyper["proxbp"]["eta"] != M.METHODS["proxbp"].defaults["eta"]


def test_list_prints_the_settings_compare_runs(capsys, tmp_path):
    rc, out, _ = run(capsys, "list")
    job = out.split("main job")[1]
    rc2, _, err = run(capsys, "compare", *QUICK, "--out", str(tmp_path), "--no-figure")
    assert rc == rc2 == 0, err
    for method, hyper in config_hyper(tmp_path).items():
        kv = ", ".join(f"{k}={v}" for k, v in hyper.items())
        assert f"  {method:<9} " in job and kv in job.split(f"  {method:<9} ")[1].split("\n")[0]


@pytest.mark.parametrize(
    "argv, fix",
    [
        (["train", "lbfgs"], "choose one of sgd"),
        (["compare", "sgd", "--dataset", "imagenet"], "choose one of synthetic"),
        (["compare", "sgd", "--dataset", "mnsit"], "did you mean 'mnist'?"),
        (["train", "sgd", "--net", "lenet", "--dataset", "mnist"], "did you mean 'lenet5'?"),
        (["train", "sgd", "--data-dir", "/nonexistent"], "--data-dir does not apply"),
        (["compare", "sibp", "--solver", "ncgg"], "did you mean 'ncg'?"),
        (["train", "sibp", "-p", "itres=3"], "did you mean 'iters'?"),
        (["compare", "sgd", "--backend", "jax"], "choose one of numpy"),
        (["train", "sgd", "--sizes", "30,10", "-q"], "must start with 32 and end with 10"),
        (["train", "sgd", "--eta", "1"], "it takes"),
        (["train", "sgd", "--batch-size", "0"], "--batch-size must be an integer >= 1, got 0"),
        (["train", "sgd", "--dataset", "mnist", "--data-dir", "/nonexistent"], "--data-dir"),
    ],
)
def test_user_errors_are_one_line_with_the_fix_and_exit_non_zero(
    capsys, tmp_path, argv, fix, monkeypatch
):
    monkeypatch.delenv("SIBP_REF_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("sibp_ref.data.paths.DEBIAN_FASHION", tmp_path / "debian")
    rc, _, err = run(capsys, *argv, "--out", str(tmp_path / "o"))
    assert rc != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sibp-ref: error:"), err
    assert fix in lines[0]


def test_cupy_without_a_gpu_is_a_one_line_error(capsys, tmp_path):
    from sibp_ref import backend as B

    try:
        B.get_backend("cupy")
        pytest.skip("CuPy and a GPU are present here")
    except B.BackendError:
        pass
    rc, _, err = run(capsys, "train", "sgd", "--backend", "cupy", "--out", str(tmp_path))
    assert rc == 2 and err.count("\n") == 1
    assert "--backend numpy" in err or "CUDA" in err


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_non_writable_output_folder_is_a_one_line_error(capsys, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        rc, _, err = run(capsys, "train", "sgd", "--out", str(ro / "x"))
    finally:
        ro.chmod(0o700)
    assert rc == 2 and "cannot write to" in err and "--out" in err


def test_a_file_as_output_folder_is_a_one_line_error(capsys, tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    rc, _, err = run(capsys, "train", "sgd", "--out", str(f / "sub"))
    assert rc == 2 and err.count("\n") == 1 and "pass --out" in err


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(ValueError, match="unknown method"):
        cli.main(["train", "lbfgs", "--debug", "--out", str(tmp_path)])


def test_list_shows_every_method_with_its_defaults(capsys):
    rc, out, _ = run(capsys, "list")
    assert rc == 0
    for name in M.method_names():
        assert f"  {name} " in out
    assert "eta=10.0" in out and "full batch" in out


def test_python_dash_m_is_the_same_command():
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "sibp_ref", "list"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and "sibp" in r.stdout


def test_train_on_real_mnist_subset(capsys, tmp_path, data_dir):
    rc, out, err = run(
        capsys,
        "train",
        "sgd",
        "--dataset",
        "mnist",
        "--n-train",
        "500",
        "--hidden",
        "20",
        "--epochs",
        "1",
        "--data-dir",
        str(data_dir),
        "--out",
        str(tmp_path),
        "-q",
    )
    assert rc == 0, err
    (log,) = tmp_path.glob("sgd-*.jsonl")
    head = json.loads(log.read_text().splitlines()[0])["settings"]
    assert head["sizes"] == [784, 20, 10] and head["n_train"] == 500
    assert head["n_test"] == 10000


def test_fetch_command_downloads_into_the_given_folder(capsys, tmp_path, monkeypatch):
    import functools
    import http.server
    import threading

    from sibp_ref.data import idx
    from sibp_ref.data.fetch import MIRRORS
    from tests.data_files import write_fake_idx

    www = tmp_path / "www"
    sums = write_fake_idx(www)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *a, **k: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        monkeypatch.setitem(
            MIRRORS,
            "mnist",
            [f"http://127.0.0.1:{srv.server_address[1]}/"],
        )
        monkeypatch.setitem(idx.KNOWN_SHA256, "mnist", sums)
        rc, out, err = run(capsys, "fetch", "mnist", "--data-dir", str(tmp_path / "d"))
    finally:
        srv.shutdown()
        srv.server_close()
    assert rc == 0, err
    assert (tmp_path / "d" / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    assert "verified" in out


@pytest.mark.parametrize(
    "argv, fix",
    [
        (["compare", "sibp", "-p", "lamm=0.1"], "did you mean 'lam'?"),
        (["compare", "sibp", "-p", "sibpp.eta=5"], "unknown method 'sibpp' (did you mean 'sibp'?)"),
        (["compare", "sgd", "-p", "sibp.eta=5"], "method 'sibp' is not run here"),
        (["compare", "sibp", "-p", "sibp.etaa=5"], "method 'sibp' does not take 'etaa'"),
        (["train", "sgd", "-p", "lrr=1"], "did you mean 'lr'?"),
        (["train", "sgd", "--seed", "-1"], "--seed must be an integer >= 0, got -1"),
        (["compare", "sgd", "--workers", "0"], "(--workers) must be an integer >= 1, got 0"),
        (["compare", "sgd", "--bcd-n", "0"], "--bcd-n must be an integer >= 1, got 0"),
        (["train", "sgd", "--epochs", "-2"], "--epochs must be an integer >= 0, got -2"),
        (["train", "sgd", "--init-std", "0"], "--init-std must be a finite number > 0"),
        (["compare", ","], "no method named"),
    ],
)
def test_misspelt_settings_and_bad_numbers_name_the_option(capsys, tmp_path, argv, fix):
    rc, _, err = run(capsys, *argv, "--out", str(tmp_path), "-q")
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sibp-ref: error:"), err
    assert fix in lines[0]
    assert not list(tmp_path.glob("*.jsonl"))  # refused before anything ran


def test_a_diverged_run_prints_diverged_aligned_and_no_broken_metric(capsys, tmp_path):
    argv = ["compare", "sgd", "--lr", "1e6", "--activation", "identity", *QUICK]
    rc, out, err = run(capsys, *argv, "--workers", "1", "--out", str(tmp_path), "--no-figure")
    assert rc == 0, err
    lines = out.splitlines()
    head = next(i for i, s in enumerate(lines) if s.startswith("method"))
    (row,) = [s for s in lines[head + 2 :] if s.startswith("sgd")]
    col = lines[head].index("train loss") + len("train loss")
    assert row[col - len("diverged") : col] == "diverged"
    assert "diverged at epoch" in row
    test_col = lines[head].index("test acc") + len("test acc")
    assert row[test_col - 1] == "/"


def test_an_option_and_its_p_form_are_one_run_with_one_log(capsys, tmp_path):
    for how in (["--eta", "10"], ["-p", "eta=10"]):
        rc, out, err = run(capsys, "train", "sibp", *QUICK, *how, "--out", str(tmp_path))
        assert rc == 0, err
    assert len(list(tmp_path.glob("*.jsonl"))) == 1
    assert config_hyper(tmp_path) == {"sibp": {"eta": 10.0, "lam": 0.5}}


def test_compare_says_when_it_reads_finished_runs_and_how_to_train_them_again(capsys, tmp_path):
    argv = ["compare", "sgd,adam", *QUICK, "--out", str(tmp_path), "--no-figure"]
    rc, out, err = run(capsys, *argv)
    assert rc == 0 and "read back" not in err, err
    rc, again, err = run(capsys, *argv)
    assert rc == 0 and again.split("logs:")[0] == out.split("logs:")[0]
    assert "note: sgd, adam: read back from the finished runs in" in err
    assert "--no-resume trains them again" in err


@pytest.mark.parametrize(
    "argv, dtype",
    [
        (["compare"], M.MAIN_JOB.dtype),
        (["compare", "--dtype", "float32"], "float32"),
        (["compare", "--dataset", "mnist"], "float32"),
        (["train", "sgd"], "float32"),
    ],
)
def test_the_main_job_runs_in_its_entrys_dtype_and_dtype_changes_only_that(argv, dtype):
    args = cli.build_parser().parse_args(argv)
    cli._preflight(args)
    assert [c.dtype for c in cli._configs(args, ["sgd", "sibp"])] == [dtype, dtype]
