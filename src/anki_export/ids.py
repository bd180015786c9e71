"""Stable identifiers: a frozen contract.

Every id Anki sees is a pure function of text that survives rebuilds, moves and other machines:
a card's GUID of its note's identity (the permalink) and its section key (normalised heading path
or pinned `^id`); deck and notetype ids of their names. Changing any output here re-creates every
card in every user's collection, so `tests/test_ids.py` pins known inputs to known outputs.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath

_BASE91 = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&()*+,-./:;<=>?@[]^_`{|}~"
)


def _digest64(*parts: str) -> int:
    data = "\x1f".join(parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


def note_guid(identity: str, section_key: str) -> str:
    """Anki GUID of one card's note, base91 like Anki's own (10 or 11 characters)."""
    number = _digest64("anki-export/note/v1", identity, section_key)
    chars = []
    while number:
        number, digit = divmod(number, len(_BASE91))
        chars.append(_BASE91[digit])
    return "".join(reversed(chars)) or _BASE91[0]


def object_id(kind: str, name: str) -> int:
    """A positive id below 2**53 (Anki stores ids as JSON numbers) for a deck or notetype name.

    Kept above 2**40 so it never meets the small ids Anki gives built-in objects (Default = 1)
    or the millisecond timestamps it gives objects created in the app.
    """
    return (_digest64("anki-export", kind, name) % (2**53 - 2**41)) + 2**41


def media_name(rel: PurePosixPath) -> str:
    """Flat, collision-free name of a vault file inside the package: two different `image.png`
    files in two folders stay two images, and the same file always gets the same name. A
    backslash (a file name on Linux, a folder anywhere else) becomes `_`."""
    digest = hashlib.sha256(rel.as_posix().encode("utf-8")).hexdigest()[:10]
    name = rel.name.replace("\\", "_")
    return f"{digest}-{name}"
