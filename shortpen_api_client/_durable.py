"""Making many new files durable at once: Linux's ``syncfs(2)`` on the filesystem that holds them.

A dataset writes one file per day, each in a directory of its own. One at a time, each costs three
waits on the disk (the file's fsync, the rename, its directory's fsync). :func:`syncfs` flushes a
whole filesystem's dirty data and metadata in one call, so a batch of days costs two (one after the
files are written, one after they are renamed), whatever its size. It flushes what other processes
wrote to that filesystem too, which is the price of the call.

Only where the result can be trusted (:func:`syncfs_available`): Linux 5.8 or later, whose
``syncfs`` reports the filesystem's writeback errors (before 5.8 it returned 0 even when writing
back failed, so a lost write would go unnoticed); and a libc that has it. Elsewhere the dataset
keeps one fsync per file and per directory.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


@functools.cache
def _libc_syncfs() -> Any:
    """libc's ``syncfs``, or None where this is not Linux 5.8+ or libc lacks it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        major, minor = (int(part) for part in platform.release().split(".")[:2])
    except ValueError:  # pragma: no cover - a release string that is not "<major>.<minor>..."
        return None
    if (major, minor) < (5, 8):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):  # pragma: no cover - a libc without syncfs
        return None
    function.argtypes = [ctypes.c_int]
    function.restype = ctypes.c_int
    return function


def syncfs_available() -> bool:
    """Whether :func:`syncfs` can be used here (see the module's docstring)."""
    return _libc_syncfs() is not None


def syncfs(directories: Iterable[Path]) -> None:
    """Flush each filesystem that holds one of ``directories`` (once per filesystem) to disk;
    ``OSError`` if the kernel reports a failure (a write that did not reach the disk)."""
    function = _libc_syncfs()
    if function is None:  # pragma: no cover - callers check syncfs_available() first
        raise OSError("syncfs is not available here")
    seen = set()
    for directory in directories:
        device = directory.stat().st_dev
        if device in seen:
            continue
        seen.add(device)
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            if function(fd) != 0:
                error = ctypes.get_errno()
                raise OSError(error, f"syncfs of {str(directory)!r}: {os.strerror(error)}")
        finally:
            os.close(fd)
