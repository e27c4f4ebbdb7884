"""Logs that survive: append-only, a torn last line dropped with a note, a damaged log named
(or moved aside and the run redone), and one writing process per run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sibp_ref.run import LogError, RunConfig, RunLocked, RunNote, read_log, run_grid
from sibp_ref.run import cli as C
from sibp_ref.run.lock import RunLock

ROOT = Path(__file__).resolve().parents[1]
CFG = RunConfig(method="adam", hidden=(8,), epochs=3, n_train=60)


def finished_log(tmp_path) -> Path:
    run_grid([CFG], tmp_path)
    return tmp_path / f"{CFG.key()}.jsonl"


def without_time(records):
    return [{k: v for k, v in r.items() if k != "time"} for r in records]


def test_a_torn_last_line_is_dropped_with_a_note_and_the_run_goes_on(tmp_path):
    log = finished_log(tmp_path)
    want = read_log(log).records
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:3]) + '\n{"event": "epoch", "epo')  # killed mid-write
    with pytest.warns(RunNote, match="torn last line"):
        (_, h), = run_grid([CFG], tmp_path)  # fmt: skip
    assert h.status == "finished" and without_time(h.records) == without_time(want)
    back = read_log(log)  # and the log is whole again: no fragment left inside
    assert back.status == "finished" and without_time(back.records) == without_time(want)


@pytest.mark.parametrize(
    "bad, what",
    [(b"null\n", "is not a log record"), (b"[1, 2]\n", "is not a log record"),
     (b"\xff\xfe garbage\n", "is not UTF-8"), (b"{not json\n", "is not JSON")],
    ids=["null", "list", "utf8", "json"],
)  # fmt: skip
def test_a_damaged_log_is_named_by_file_and_line(tmp_path, bad, what):
    log = finished_log(tmp_path)
    raw = log.read_bytes().split(b"\n")
    log.write_bytes(b"\n".join(raw[:2]) + b"\n" + bad + b"\n".join(raw[2:]))
    with pytest.raises(LogError, match=f"{log.name}: line 3 {what}.*move it aside"):
        read_log(log)


def test_a_damaged_log_is_moved_aside_and_the_run_redone(tmp_path, capsys):
    log = finished_log(tmp_path)
    want = read_log(log).records
    log.write_bytes(log.read_bytes().replace(b'{"event": "end"', b'null}\n{"event": "end"'))
    argv = ["train", "adam", "--epochs", "3", "--n-train", "60", "--hidden", "8", "-q",
            "--out", str(tmp_path)]  # fmt: skip
    assert C.main(argv) == 0
    err = capsys.readouterr().err
    assert "note:" in err and "line 6 is not JSON" in err and "Traceback" not in err
    assert (tmp_path / f"{log.name}.damaged").is_file()
    assert without_time(read_log(log).records) == without_time(want)


def test_an_ended_run_started_over_keeps_its_old_log_beside_the_new_one(tmp_path):
    log = finished_log(tmp_path)
    before = log.read_bytes()
    with pytest.warns(RunNote, match="ran again from the start; its log is now"):
        run_grid([CFG], tmp_path, resume=False)  # run again from the start
    assert (tmp_path / f"{log.name}.previous").read_bytes() == before
    assert log.read_bytes().count(b'"event": "start"') == 1
    assert read_log(log).status == "finished"


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_run_locked_by_a_live_process_is_refused_naming_it(tmp_path, capsys):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = tmp_path / f"{CFG.key()}.lock"
        lock.write_text(f"{sleeper.pid} {os.uname().nodename}\n")
        with pytest.raises(RunLocked, match=f"being written by process {sleeper.pid}"):
            run_grid([CFG], tmp_path)
        argv = ["train", "adam", "--epochs", "3", "--n-train", "60", "--hidden", "8", "-q",
                "--out", str(tmp_path)]  # fmt: skip
        assert C.main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"process {sleeper.pid}" in err[0]
        assert lock.read_text().startswith(str(sleeper.pid))  # not taken from a live holder
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    lock = tmp_path / f"{CFG.key()}.lock"
    lock.write_text(f"{_dead_pid()} {os.uname().nodename}\n")
    ((_, h),) = run_grid([CFG], tmp_path)
    assert h.status == "finished" and not lock.exists()


def test_a_second_cli_process_on_the_same_run_refuses(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "sibp_ref", "train", "sibp", "--epochs", "200", "--n-train",
            "2000", "-q", "--out", str(tmp_path)]  # fmt: skip
    first = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("*.lock")) and time.monotonic() < deadline:
            time.sleep(0.05)
        second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 2
    assert f"being written by process {first.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    (log,) = tmp_path.glob("*.jsonl")
    assert read_log(log).settings["method"] == "sibp"  # one writer: the log reads cleanly


def test_the_lock_is_released_when_the_run_ends(tmp_path):
    with RunLock(tmp_path / "x.lock") as lk:
        assert lk.held and (tmp_path / "x.lock").exists()
    assert not (tmp_path / "x.lock").exists()


def test_a_callers_setting_that_the_loop_sets_too_must_agree_or_is_refused(tmp_path):
    from sibp_ref import SIBP
    from sibp_ref.data import make_synthetic
    from sibp_ref.network import MLP
    from sibp_ref.run import train

    ds = make_synthetic(40, 20, d=6, num_classes=3, informative=3, seed=1, dtype="float64")
    net = MLP([6, 8, 3])
    params = net.init(seed=0, std=0.3, dtype="float64")
    log = tmp_path / "r.jsonl"
    with pytest.raises(ValueError, match=r"settings: method='sibp_more' would be overwritten"):
        train(net, SIBP(), params, ds, epochs=1, log=log, settings={"method": "sibp_more"})
    assert not log.exists()  # refused before anything is written
    h = train(net, SIBP(), params, ds, epochs=1, log=log, settings={"method": "sibp", "v": 1})
    assert read_log(log).settings["v"] == 1 and h.settings["method"] == "sibp"


def test_environment_names_the_source_commit_when_run_from_a_checkout():
    import re
    from pathlib import Path

    from sibp_ref import backend as B
    from sibp_ref.run import environment
    from sibp_ref.run.env import source_commit

    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    env = environment(B.get_backend("numpy"))
    assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", env["sibp_ref_commit"])
    assert env["sibp_ref_commit"] == source_commit()


def test_environment_names_the_installed_version_and_run_imports_only_modules_from_above():
    """The header's version is the installed package's (its metadata, as pip wrote it); no
    module of sibp_ref.run takes a name from the package top (``from .. import x`` only for
    modules), so importing the harness never runs the package's __init__ for a value."""
    import ast
    import importlib.util
    from pathlib import Path

    import sibp_ref
    from sibp_ref import backend as B
    from sibp_ref.run import environment

    assert environment(B.get_backend("numpy"))["sibp_ref"] in (sibp_ref.__version__, "unknown")
    for path in sorted(Path(sibp_ref.run.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module is None:
                for alias in node.names:
                    spec = importlib.util.find_spec(f"sibp_ref.{alias.name}")
                    assert spec is not None, f"{path.name} imports {alias.name} from sibp_ref"
