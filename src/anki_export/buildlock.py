"""One build at a time per output folder, and what builds that were killed left behind.

Two builds of one output folder at once (a file watcher, an editor hook, a second terminal)
would interleave their writes: one's package beside the other's manifest and cache, which
every later build then took for current. So a build holds an exclusive lock on a file in the
folder's cache folder from its first look at the vault to its last write, and the other
waits (or, told not to, fails). Holding it, a build knows that every temporary file of a
build in that folder is a killed build's, and removes those it recognises by name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import OutputError

LOCK_NAME = "build.lock"  # in the cache folder (`cache.CACHE_NAME`)
WORK_PREFIX = "work-"  # a package writer's folder for its collection (`PackageWriter`)


@contextlib.contextmanager
def hold_output(folder: Path, cache_folder: Path, manifest: Path, *, wait: bool,
                on_wait: Callable[[], None]) -> Iterator[None]:
    """Hold the output folder's lock for the block, creating the folders it needs; wait for
    another build holding it (calling `on_wait` once), or with `wait` False fail at once.
    A block that fails in a folder it created removes what it created there, so a failed
    first build leaves no output folder behind."""
    made = not folder.exists()
    lock = cache_folder / LOCK_NAME
    try:
        # A cache of an earlier version, one file; or a link put in the cache's place (by a
        # restored CI cache, or a repository holding the output folder): never followed, as
        # the leftovers removed below and the lock would then be another folder's files.
        if cache_folder.is_file() or cache_folder.is_symlink():
            cache_folder.unlink()
        fd = _locked(lock, wait, on_wait)
    except OSError as e:
        raise OutputError(f"cannot create the output folder ({e.strerror}); choose another "
                          "with -o", path=folder) from e
    try:
        remove_leftovers(folder, cache_folder, manifest)
        yield
    except BaseException:
        if made:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        os.close(fd)  # lets the lock go


def _locked(lock: Path, wait: bool, on_wait: Callable[[], None]) -> int:
    """An open descriptor of `lock`, locked. A lock file removed while this build waited
    (by a failed first build, see `hold_output`) is opened and locked again."""
    waited = False
    while True:
        lock.parent.mkdir(parents=True, exist_ok=True)
        if lock.is_symlink():  # planted: opening it would create or lock a file elsewhere
            lock.unlink()
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        try:
            if not _try_lock(fd):
                if not wait:
                    raise OutputError("another build of this output folder is running; wait "
                                      "for it to finish, or build without --no-wait to wait "
                                      "for it", path=lock.parent.parent)
                if not waited:
                    on_wait()
                    waited = True
                _lock(fd)
            if _same_file(fd, lock):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(fd), path.stat())
    except OSError:
        return False


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _lock(fd: int) -> None:
        while not _try_lock(fd):  # msvcrt's blocking lock gives up after ten seconds
            time.sleep(0.1)
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)


def remove_leftovers(folder: Path, cache_folder: Path, manifest: Path) -> None:
    """Remove what builds killed midway left: packages and manifests being written
    (`files.atomic_path`'s `.NAME.*.tmp`) and package writers' folders. Only names this
    tool makes: the lock is held, so none of them is another build's work in progress."""
    found = [*folder.glob(".*.apkg.*.tmp"), *manifest.parent.glob(f".{manifest.name}.*.tmp"),
             *cache_folder.glob(f"{WORK_PREFIX}*")]
    for path in found:
        with contextlib.suppress(OSError):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
