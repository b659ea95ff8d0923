"""One writer per dataset folder: an exclusive lock on ``<folder>/_sync.lock``.

The lock is an OS lock (``flock`` on POSIX, ``LockFileEx`` on Windows, through the ``filelock``
library) held on an open file: the kernel drops it when the process ends, however it ends (``kill -9``
included), so a lock is never left stale by a dead writer and needs no stale-lock detection. On a
filesystem without ``flock`` (some network mounts) ``filelock`` falls back to a lock file whose mere
existence is the lock; such a lock outlives a killed process and must then be removed by hand.

The shape follows dlt's ``TransactionalFile``: :meth:`FolderLock.acquire_lock` (blocking or not, with a
timeout), an idempotent :meth:`FolderLock.release_lock`, and a :meth:`FolderLock.lock` context manager.
The file's name starts with ``_`` so that dataset readers (Spark, DuckDB, pyarrow) skip it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from filelock import FileLock, Timeout

from .errors import DatasetLockedError, InvalidArgumentError

LOCK_NAME: Final = "_sync.lock"


class FolderLock:
    """The exclusive writer's lock of ``folder`` (which must exist). Not re-entrant: a second
    :class:`FolderLock` on the same folder, in this process or another, is refused while it is held."""

    def __init__(self, folder: Path) -> None:
        self.folder: Final = folder
        self.path: Final = folder / LOCK_NAME
        # thread_local=False: an async sync takes the lock in one thread and may release it in another.
        self._lock = FileLock(self.path, thread_local=False)

    @property
    def locked(self) -> bool:
        """Whether this object holds the lock."""
        return self._lock.is_locked

    def acquire_lock(self, *, blocking: bool = False, timeout: float = -1) -> None:
        """Take the lock; by default fail at once if another writer holds it.

        Raises :class:`DatasetLockedError` naming the folder when the lock is held elsewhere (at once,
        or after ``timeout`` seconds when ``blocking``; a negative timeout waits for ever), and
        :class:`InvalidArgumentError` when ``_sync.lock`` is not a regular file (a symlink is never
        followed).
        """
        try:
            mode = os.lstat(self.path).st_mode
        except FileNotFoundError:
            pass
        else:
            if not stat.S_ISREG(mode):
                raise InvalidArgumentError(
                    f"cannot lock the dataset folder {str(self.folder)!r}: {str(self.path)!r} is not a "
                    "regular file (a symlink or a device is never followed); remove it"
                )
        try:
            self._lock.acquire(blocking=blocking, timeout=timeout)
        except Timeout:
            raise DatasetLockedError(
                f"another sync is writing to the dataset folder {str(self.folder)!r} (it holds "
                f"{str(self.path)!r}): wait for it to finish, or sync into another folder"
            ) from None

    def release_lock(self) -> None:
        """Let the next writer in; does nothing if the lock is not held (safe to call twice)."""
        if self._lock.is_locked:
            self._lock.release(force=True)

    @contextmanager
    def lock(self, *, blocking: bool = False, timeout: float = -1) -> Iterator[FolderLock]:
        """Hold the lock for the ``with`` block."""
        self.acquire_lock(blocking=blocking, timeout=timeout)
        try:
            yield self
        finally:
            self.release_lock()
