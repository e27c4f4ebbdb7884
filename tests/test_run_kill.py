"""Workers die with their driver (:func:`sibp_ref.run.grid.make_executor`): a parallel
``compare`` killed outright (SIGKILL of the driver alone) leaves no worker and no resource
tracker behind, and a Ctrl-C (SIGINT to the whole process group, as a terminal sends it)
prints the one-line "interrupted" and exits 130, with no worker's traceback.

Each test starts ``sibp-ref compare`` in a session of its own, so that its process group is
all the processes it started (spawned workers and the resource tracker stay in the group),
bounds every wait, and kills whatever is left of the group at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the process table from /proc"
)

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
#: Long enough that the grid is still running when it is signalled (SGD ends first).
ARGS = ["sgd,sibp", "--epochs", "400", "--n-train", "300", "--hidden", "16", "--workers", "2"]


def group(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(int(d))
    return out


def wait_for(cond, timeout: float, what: str) -> None:
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def start_compare(out: Path) -> subprocess.Popen:
    code = "import sys; from sibp_ref.run.cli import main; sys.exit(main(sys.argv[1:]))"
    cmd = [sys.executable, "-c", code, "compare", *ARGS, "--out", str(out), "--no-figure"]
    return subprocess.Popen(cmd, env=ENV, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def kill_group(p: subprocess.Popen) -> None:
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.communicate(timeout=30)


def workers_started(p: subprocess.Popen) -> None:
    """Wait until the driver, its 2 workers and the resource tracker all run."""
    wait_for(lambda: len(group(p.pid)) >= 4, 120, "the workers")


def test_workers_and_resource_tracker_exit_when_the_driver_is_killed(tmp_path):
    p = start_compare(tmp_path)
    try:
        workers_started(p)
        wait_for(lambda: any(tmp_path.glob("*.jsonl")), 120, "the first log")
        os.kill(p.pid, signal.SIGKILL)  # the driver alone: no clean-up runs in it
        p.wait(timeout=30)
        wait_for(lambda: not group(p.pid), 15, f"the orphans {group(p.pid)} to exit")
    finally:
        kill_group(p)


@pytest.mark.slow
def test_ctrl_c_gives_one_line_and_status_130_with_an_idle_worker(tmp_path):
    p = start_compare(tmp_path)
    try:
        workers_started(p)
        ended = lambda: any('"end"' in f.read_text() for f in tmp_path.glob("sgd-*.jsonl"))  # noqa: E731
        wait_for(ended, 120, "SGD to finish (one worker then idles)")
        os.killpg(p.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        _, err = p.communicate(timeout=60)
        assert p.returncode == 130, err
        assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
        assert err.strip().splitlines()[-1].startswith("sibp-ref: interrupted"), err
        wait_for(lambda: not group(p.pid), 15, f"the workers {group(p.pid)} to exit")
    finally:
        kill_group(p)
