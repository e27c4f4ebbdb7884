"""One writer per run: an OS lock on ``<log>.lock``, held by the writing process.

The protocol, and why. The lock is the kernel's ``flock`` on the open lock file: taking it
is atomic (of N processes that try at once exactly one gets it), and the kernel releases
it when its holder's file is closed, **including when the holder dies** (SIGKILL, an
out-of-memory kill, ``os._exit``). There is therefore no staleness to judge: a lock that is
held is held by a live process, and a lock file nobody holds is free (one exception below).
The previous protocol (``O_EXCL`` creation, then the pid written, and a file whose pid
did not name a live process deleted as stale) had to judge, and judged a file created but
not yet written as stale: two processes started together both took it and both wrote one
log. ``O_EXCL`` cannot put the pid in with the creation, and a dead holder's pid may be
reused by another process; hence the OS lock.

Taking it (:meth:`RunLock.acquire`):

1. open ``<log>.lock`` (created if missing) and ask for the lock without waiting; if
   another open file holds it, refuse with :class:`RunLocked`, naming the lock file and
   the process id the holder wrote into it (unless the holder is removing it: step 2);
2. check that the path still names the file we locked: a holder that finished removed
   the file (step 4) after we opened it, and a lock on a removed file guards nothing;
   then start again from 1;
3. write ``"<pid> <host>"`` into the file, for the message of step 1 only.
4. Release: remove the file while still holding the lock, then close it.

Why the standard library and not the ``filelock`` package: it is the same ``flock`` call
underneath, but it does not write the holder's id (the message a user needs) and leaves
the lock file in place; the few ``os``/``fcntl`` calls here did not earn a dependency.

The exception, and what it does not cover. A free lock file that names a process not
provably dead is still refused: a live process on this machine (a file written by an older
version of this module: a pid, no OS lock), or any process on another machine (whose file
system may not share its locks with ours); delete the file once that process no longer
runs. A process forked while a run is written shares its open lock file, so the lock lasts
until that child ends too; the local process pools of :func:`sibp_ref.run.make_executor`
start their workers with ``spawn``, which shares nothing. Between machines, the lock is as
good as the shared file system's ``flock`` (NFSv4 on Linux: yes). On Windows (no
``fcntl``) the lock is ``msvcrt.locking`` on one byte far beyond the text (the OS releases
it too when the process ends), and the file is removed after it is closed (an open file
cannot be removed there, so step 2's race cannot arise); that branch is not run by this
project's tests.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

__all__ = ["RunLocked", "RunLock"]

#: How long a refused process waits for the holder's id to appear in the file (the
#: holder writes it right after it took the lock) before it names no process.
_WAIT_FOR_PID_S = 0.5
_WIN_BYTE = 1 << 30  # the byte locked on Windows, far beyond the text that is read


class RunLocked(RuntimeError):
    """Another live process is writing this run."""


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs here (POSIX only: on Windows ``os.kill`` terminates)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def _parse(text: str) -> tuple[int | None, str]:
    pid, _, host = text.strip().partition(" ")
    try:
        return int(pid), host
    except ValueError:
        return None, ""


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 256, 0).decode("utf-8", "replace")
    except AttributeError:  # no pread (Windows)
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 256).decode("utf-8", "replace")


def _try_os_lock(fd: int) -> bool:
    """Take the OS lock on ``fd`` without waiting; False when another file holds it."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            os.lseek(fd, _WIN_BYTE, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except (BlockingIOError, PermissionError):
        return False
    except OSError:  # msvcrt: "resource deadlock avoided" when held elsewhere
        if fcntl is not None:
            raise
        return False
    return True


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)


class RunLock:
    """``with RunLock(path):`` holds ``path`` (``<log>.lock``) for this process
    (module docstring: the protocol). ``what`` names the run in the refusal."""

    def __init__(self, path: str | os.PathLike, what: str = "") -> None:
        self.path, self.what, self.held = Path(path), what or str(path), False
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Take the lock, or raise :class:`RunLocked` naming the lock file and its holder."""
        if self.held:
            return self
        for _ in range(100):  # again only when a holder removed the file meanwhile
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
            try:
                taken = self._take(fd)
            except BaseException:
                os.close(fd)
                raise
            if taken:
                self._fd, self.held = fd, True
                return self
            os.close(fd)
        raise RunLocked(f"could not take the lock {self.path}: it is removed and made anew")

    def _take(self, fd: int) -> bool:
        """Steps 1-3 of the module docstring on the open lock file ``fd``; False when the
        path no longer names it (try again)."""
        if not _try_os_lock(fd):
            if not _same_file(fd, self.path):
                return False  # its holder is letting it go: removed, not yet closed
            raise self._refusal(fd)
        if not _same_file(fd, self.path):
            return False  # locked a file its last holder has just removed
        self._refuse_legacy(_read(fd))
        me = f"{os.getpid()} {socket.gethostname()}\n".encode()
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, me)  # over the old text in one write, then cut the rest
        os.ftruncate(fd, len(me))
        return True

    def _refusal(self, fd: int) -> RunLocked:
        """The error for a lock held by another open file: its holder named when it has
        written its id (it does so right after taking the lock)."""
        deadline = time.monotonic() + _WAIT_FOR_PID_S
        pid, host = _parse(_read(fd))
        while pid is None and time.monotonic() < deadline:
            time.sleep(0.01)
            pid, host = _parse(_read(fd))
        who = "another process" if pid is None else f"process {pid}"
        if pid is not None and host not in ("", socket.gethostname()):
            who += f" on {host}"
        elif pid is not None and fcntl is not None and not _alive(pid):
            who += ", which no longer runs (a process it started holds the lock it inherited)"
        return RunLocked(
            f"{self.what} is being written by {who} (lock {self.path}); "
            "wait for it to end or stop it"
        )

    def _refuse_legacy(self, text: str) -> None:
        """Refuse a free lock file that names a process not provably dead (module
        docstring): one written by an older version of this module."""
        pid, host = _parse(text)
        here = host in ("", socket.gethostname())
        if fcntl is None or pid is None or (here and (pid == os.getpid() or not _alive(pid))):
            return
        raise RunLocked(
            f"{self.what} is being written by process {pid}"
            + ("" if here else f" on {host}")
            + f" (lock {self.path}, without an OS lock); wait for it to end or stop it; "
            "if it no longer runs, delete the lock file"
        )

    def release(self) -> None:
        """Remove the lock file, then let the lock go (this order: module docstring)."""
        if not self.held:
            return
        fd, self._fd, self.held = self._fd, None, False
        if fcntl is not None and _same_file(fd, self.path):
            self.path.unlink(missing_ok=True)
        os.close(fd)  # the kernel releases the lock with the last descriptor
        if fcntl is None:
            try:
                self.path.unlink()
            except OSError:  # another process has it open (and may hold it): its file
                pass

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
