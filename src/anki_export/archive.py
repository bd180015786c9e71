"""The package's zip: reproducible, the same collection and media always giving the same
bytes (fixed times, modes and host system, files in a fixed order).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path

from .files import atomic_path, file_stamp

_LEVEL = 1  # zlib's fastest: a package a fifth larger than at its default level, but a
# collection of tens of MB is deflated on every build
_DOS_EPOCH = 315_532_800  # 1980-01-01, the earliest time a zip entry can hold
_DOS_END = 4_354_819_199  # 2107-12-31 23:59:59, the latest
_COLLECTION = "collection.anki2"
_COMPRESSED = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".mp3", ".m4a", ".ogg",
               ".mp4", ".webm", ".pdf", ".zip"}  # deflating these again costs time, saves nothing


def write_zip(path: Path, collection: Path, media: Mapping[str, Path], timestamp: int
              ) -> tuple[int, int]:
    """Write the package atomically: the collection, the `media` map and the media files
    (name in package → file), with fixed times and modes, so equal input gives equal bytes.
    Returns the package's size and mtime, by which the next build knows it is still this
    one (layout.py)."""
    media_names = sorted(media)
    with atomic_path(path) as tmp, tmp.open("wb") as raw:
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            _add_file(zf, _COLLECTION, collection, timestamp)
            data = json.dumps({str(i): name for i, name in enumerate(media_names)},
                              sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode()
            zf.writestr(_zip_info("media", timestamp, len(data)), data)
            for i, name in enumerate(media_names):  # the files' names in the zip: 0, 1, …
                _add_file(zf, str(i), Path(media[name]), timestamp)
        raw.flush()
        os.fsync(raw.fileno())  # the bytes are on disk before the rename makes them visible
    return file_stamp(path)


def _zip_info(name: str, timestamp: int, size: int) -> zipfile.ZipInfo:
    """Fixed time, permissions and host system, so the zip is reproducible.

    Process-wide trick (README, "Process-wide tricks"): `_compresslevel` is zipfile's private
    attribute, the only way before Python 3.13 (`compress_level` from then on) to set an
    entry's level when it is written through `ZipFile.open`, as the collection is (streamed,
    never in memory whole). What must stay true: each Python version the project supports
    still reads it (`tests/test_package.py` checks the level through the entry's flags)."""
    when = time.gmtime(min(max(timestamp, _DOS_EPOCH), _DOS_END))
    info = zipfile.ZipInfo(name, date_time=when[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = _LEVEL  # type: ignore[attr-defined]
    info.create_system = 3
    info.external_attr = 0o644 << 16
    info.file_size = size  # lets zipfile pick zip64 only when needed
    return info


def _add_file(zf: zipfile.ZipFile, name: str, src: Path, timestamp: int) -> None:
    info = _zip_info(name, timestamp, src.stat().st_size)
    if src.suffix.lower() in _COMPRESSED:
        info.compress_type = zipfile.ZIP_STORED
    with src.open("rb") as f, zf.open(info, "w") as out:
        shutil.copyfileobj(f, out, 1 << 20)
