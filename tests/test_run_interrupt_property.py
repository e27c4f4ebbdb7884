"""Interruptions anywhere lose nothing: a short grid run in a subprocess, killed (SIGKILL)
after random delays and started again each time, ends with the logs (one line per epoch,
the same values) and the final parameters (the kept checkpoints) of the run never
interrupted. A small derandomised version runs in the default suite; ``-m slow`` draws more.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sibp_ref.run import load_checkpoint

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
GRID = """
import sys
from sibp_ref.run import RunConfig, run_grid
cfgs = [RunConfig(method=m, hidden=(8,), epochs=6, n_train=400, batch_size=20, seed=1)
        for m in ("sgd", "sibp")]
run_grid(cfgs, sys.argv[1], keep_checkpoints=True)
"""


def grid(out: Path, kill_after: float | None) -> None:
    """Run the grid into ``out``; with ``kill_after``, SIGKILL it after that many seconds."""
    p = subprocess.Popen([sys.executable, "-c", GRID, str(out)], env=ENV,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        p.wait(timeout=kill_after if kill_after is not None else 300)
    except subprocess.TimeoutExpired:
        if kill_after is None:
            raise
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=30)


def outcome(out: Path) -> dict:
    """Per log: its epoch lines without wall times, its end record, its last checkpoint."""
    res = {}
    for log in sorted(out.glob("*.jsonl")):
        events = [json.loads(line) for line in log.read_text().splitlines()]
        epochs = [{k: v for k, v in e.items() if k != "time"} for e in events
                  if e["event"] == "epoch"]  # fmt: skip
        end = [{k: v for k, v in e.items() if k != "time"} for e in events if e["event"] == "end"]
        snap = load_checkpoint(log.with_name(log.stem + ".ckpt.npz"))
        res[log.name] = (epochs, end, snap.arrays)
    return res


@pytest.fixture(scope="module")
def whole(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("whole")
    grid(out, None)
    return outcome(out)


def check_same(out: Path, whole: dict) -> None:
    got = outcome(out)
    assert got.keys() == whole.keys()
    for name, (epochs, end, arrays) in got.items():
        assert [e["epoch"] for e in epochs] == list(range(7)), name  # one line per epoch
        assert (epochs, end) == whole[name][:2], name
        for a, b in zip(arrays, whole[name][2], strict=True):
            np.testing.assert_array_equal(a, b)


KILLS = st.lists(st.floats(0.3, 4.0), min_size=1, max_size=3)


@settings(max_examples=2, derandomize=True, deadline=None)
@given(kills=KILLS)
def test_killed_at_random_points_and_resumed_the_grid_logs_and_ends_as_never_interrupted(
    kills, whole, tmp_path_factory
):
    out = tmp_path_factory.mktemp("killed")
    for delay in kills:
        grid(out, delay)
    grid(out, None)
    check_same(out, whole)


@pytest.mark.slow
@settings(max_examples=12, deadline=None)
@given(kills=st.lists(st.floats(0.1, 6.0), min_size=1, max_size=6))
def test_many_random_kills_and_resumes_give_the_uninterrupted_grid(kills, whole, tmp_path_factory):
    out = tmp_path_factory.mktemp("killed")
    for delay in kills:
        grid(out, delay)
    grid(out, None)
    check_same(out, whole)
