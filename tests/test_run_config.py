"""RunConfig.key() and the log format stay compatible with the logs already written: the
same config gives the same file name, and an old log (no checkpoint) still reads as done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sibp_ref.run import RunConfig, read_log, run_grid

RESULTS = Path(__file__).resolve().parents[1] / "tutorials" / "results"
LOGS = (
    sorted(RESULTS.glob("05_table2_gpu_partial/*.jsonl"))
    + sorted(RESULTS.glob("07_small_samples_runs/*.jsonl"))[:4]
)


def config_of(log: Path) -> RunConfig:
    cfg = json.loads(log.read_text(encoding="utf-8").splitlines()[0])["settings"]["config"]
    return RunConfig(**cfg)


@pytest.mark.skipif(not LOGS, reason="no committed run logs in tutorials/results")
@pytest.mark.parametrize("log", LOGS, ids=[p.name for p in LOGS])
def test_the_key_of_a_committed_logs_config_is_its_file_name(log):
    assert f"{config_of(log).key()}.jsonl" == log.name


@pytest.mark.skipif(not LOGS, reason="no committed run logs in tutorials/results")
def test_an_old_finished_log_is_done_and_read_back_not_rerun(tmp_path):
    log = next(p for p in LOGS if read_log(p).status == "finished")
    cfg = config_of(log)
    (tmp_path / log.name).write_bytes(log.read_bytes())
    ((_, h),) = run_grid([cfg], tmp_path)  # would need MNIST and CuPy if it ran
    assert h.status == "finished" and h.records == read_log(log).records
    assert (tmp_path / log.name).read_bytes() == log.read_bytes()


def test_a_grid_shows_one_progress_line(tmp_path, capsys):
    from sibp_ref.run import make_executor

    cfgs = [RunConfig(method=m, hidden=(8,), epochs=2, n_train=60) for m in ("sgd", "adam")]
    with make_executor(2) as ex:
        run_grid(cfgs, tmp_path, executor=ex, progress=True)
    err = capsys.readouterr().err
    assert "grid: runs 2 done, 0 running, 0 left; epochs 4/4" in err


def test_equal_settings_written_two_ways_are_one_run_with_one_key():
    a = RunConfig(method="sibp", hyper={"eta": 10}, init_std=1, n_train=300)
    b = RunConfig(method="SIBP", hyper={"eta": 10.0, "lam": 0.5}, init_std=1.0, n_train=300.0)
    assert a.key() == b.key() and a.settings() == b.settings()
    assert a.settings()["hyper"] == {"eta": 10.0, "lam": 0.5}
    assert RunConfig(method="sgd", hyper={"eta": 1}).key() == RunConfig(hyper={"lr": 1.0}).key()


def test_a_config_in_normal_form_keeps_the_key_it_always_had():
    cfg = RunConfig(method="sibp", hyper={"eta": 10.0}, n_train=300)
    assert cfg.key() == cfg.legacy_key()


def test_a_log_written_under_the_key_of_the_settings_as_given_is_found_and_read_back(tmp_path):
    from sibp_ref.run.config import log_path

    given = RunConfig(method="sgd", hyper={"lr": 1}, hidden=(4,), epochs=1, n_train=60)
    assert given.key() != given.legacy_key()  # lr=1 as written, not 1.0
    (h_old,) = (h for _, h in run_grid([given], tmp_path / "old"))
    old = tmp_path / "old" / f"{given.key()}.jsonl"
    legacy = tmp_path / "legacy" / f"{given.legacy_key()}.jsonl"
    legacy.parent.mkdir()
    legacy.write_bytes(old.read_bytes())  # what the code before the normal form wrote
    assert log_path(legacy.parent, given) == legacy
    ((_, h),) = run_grid([given], legacy.parent)
    assert h.records == h_old.records and sorted(legacy.parent.iterdir()) == [legacy]
    assert log_path(tmp_path / "empty", given).name == f"{given.key()}.jsonl"
