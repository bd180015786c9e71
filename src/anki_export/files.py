"""File edges shared by the writers and readers: atomic replacement, digests, mapped reads."""

from __future__ import annotations

import hashlib
import io
import mmap
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename,
    on any error it is removed, so readers only ever see the old file or the new one whole.
    The new file keeps the old one's permissions (else an ordinary file's); write it with
    `os.fsync` before leaving the block where losing it to a crash would matter."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp makes 0600: keep the replaced file's mode, or make an ordinary file
        tmp.chmod(path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


Bytes = bytes | mmap.mmap
"""A file's bytes: read, or mapped (`map_file`)."""

PIECE = 1 << 20
"""How much of a mapped file is touched at a time before its pages are let go."""


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, read a piece at a time (a vault's video is never in memory
    whole); "" when it cannot be read, is not there or is not a regular file."""
    try:
        with open_regular(path) as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return ""


class NotARegularFile(OSError):
    """A FIFO, socket or device where a file was expected: never read (a FIFO would block
    forever, `/dev/zero` never ends)."""


class TooLarge(ValueError):
    """A file over the bound its reader sets (`read_bounded`)."""


def read_bounded(path: Path, limit: int) -> bytes:
    """A small file of someone else's vault (a settings file), read only if it is a regular
    file (`open_regular`) and only up to `limit` bytes: raises `TooLarge` beyond it."""
    with open_regular(path) as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"over {limit // 1024} KB")
    return data


@contextmanager
def open_regular(path: Path) -> Iterator[io.BufferedReader]:
    """Open a vault file for reading only if it is a regular file (following symlinks):
    opened without blocking, so a FIFO put in its place after the vault was scanned
    (`vault.scan_vault` leaves every other kind out) is refused, not waited on."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotARegularFile(0, "not a regular file", os.fspath(path))
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f


def read_if_readable(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def map_file(path: Path) -> Bytes | None:
    """The file's bytes, mapped read-only rather than read: a page comes from the disk when
    first touched and goes again with `let_go`, so a file of tens of MB (the manifest of a
    large vault) never sits in the process whole. None when it cannot be read; an empty
    file, or one that cannot be mapped, is read, and so is every file on Windows, where a
    mapped file cannot be replaced. Only for files written by atomic replacement
    (`atomic_path`): one cut short while mapped would crash the reader."""
    try:
        with path.open("rb") as f:
            if os.fstat(f.fileno()).st_size and os.name != "nt":
                return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        pass
    return read_if_readable(path)


def let_go(data: object) -> None:
    """Hand the pages of a mapping touched so far back to the kernel (its file cache keeps
    them): they no longer count in the process's memory. Read bytes stay as they are."""
    if isinstance(data, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        data.madvise(mmap.MADV_DONTNEED)


def bytes_digest(data: Bytes | None) -> str:
    """`file_digest` of bytes already read or mapped (None: not read), a piece at a time."""
    if data is None:
        return ""
    digest = hashlib.sha256()
    for start in range(0, len(data), PIECE):
        digest.update(data[start : start + PIECE])
        let_go(data)
    return digest.hexdigest()


def file_stamp(path: Path) -> tuple[int, int]:
    """Size and modification time (ns): what tells a file we wrote from one written since;
    (-1, -1) when it is not there."""
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)
