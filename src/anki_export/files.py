"""Atomic file replacement, shared by the package and the manifest writers."""

from __future__ import annotations

import hashlib
import os
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


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes; "" when it cannot be read (or is not there)."""
    return bytes_digest(read_if_readable(path))


def read_if_readable(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def bytes_digest(data: bytes | None) -> str:
    """`file_digest` of bytes already read (None: not read)."""
    return "" if data is None else hashlib.sha256(data).hexdigest()


def file_stamp(path: Path) -> tuple[int, int]:
    """Size and modification time (ns): what tells a file we wrote from one written since;
    (-1, -1) when it is not there."""
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)
