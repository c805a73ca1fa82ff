"""One writer of the index at a time per data directory.

`viko index` from a shell and the admin API's index call would otherwise both build a
generation from the same catalogue and race to publish it. The lock is an flock on a file in
the data directory: the kernel drops it when its holder dies, even by kill -9, so a crash
never leaves a stale lock behind. The file keeps the holder's pid for the message."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = "index.lock"
POLL_SECONDS = 0.2


class LockBusy(RuntimeError):
    """Another process holds the lock; the message says who and what to do."""


@contextmanager
def data_lock(data_dir: Path, *, wait: float = 0.0, name: str = LOCK_NAME,
              what: str = "`viko index`") -> Iterator[None]:
    """Holds the data directory's lock for the block; waits up to `wait` seconds for a
    running holder, then raises LockBusy."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    path = Path(data_dir) / name
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockBusy(f"another {what} is running on {data_dir} ({_holder(fd)}); "
                                   "wait for it to finish, or raise VIKO_INDEX_LOCK_WAIT") from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return f"pid {pid}" if pid.isdigit() else "pid unknown"
