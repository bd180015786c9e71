"""Digital Garden permalinks, recomputed exactly as the Obsidian plugin computes them.

The Obsidian Digital Garden plugin derives every note's URL with the npm package
`@sindresorhus/slugify` 1.1.2 (default options), which transliterates with
`@sindresorhus/transliterate` 0.1.2 and `lodash.deburr` 4.1.0. Card GUIDs are built from those
permalinks, so any difference breaks re-imports; python-slugify is not a substitute (it gives
`uber` for `Über` where the plugin gives `ueber`, and drops `&` where the plugin writes `and`).
This module is a port of that JS, with its data vendored in `_slugify_tables`; the tests pin
outputs produced by running the real JS.
"""

from __future__ import annotations

import re
import unicodedata

from ._slugify_tables import DEBURR_COMBINING_MARK_RANGES, DEBURRED_LETTERS, REPLACEMENTS


def _key_indices_by_first_char() -> dict[str, tuple[int, ...]]:
    indices: dict[str, list[int]] = {}
    for index, (key, _) in enumerate(REPLACEMENTS):
        indices.setdefault(key[0], []).append(index)
    return {char: tuple(found) for char, found in indices.items()}


_KEY_INDICES_BY_FIRST_CHAR = _key_indices_by_first_char()
# ASCII text can only contain ASCII keys (just "&" in 1.1.2).
_ASCII_REPLACEMENTS = tuple(pair for pair in REPLACEMENTS if pair[0].isascii())


def _deburr_table() -> dict[int, str | None]:
    # One table does lodash.deburr's two passes (replace Latin-1/Latin Extended-A letters,
    # then delete combining marks) at once, since no letter is replaced by a combining mark.
    table: dict[int, str | None] = {
        ord(letter): plain for letter, plain in DEBURRED_LETTERS.items()
    }
    for low, high in DEBURR_COMBINING_MARK_RANGES:
        table.update(dict.fromkeys(range(low, high + 1)))
    return table


_DEBURR_TABLE = _deburr_table()

# slugify's decamelize(), which inserts a space at these boundaries, in this order:
#   /([A-Z]{2,})(\d+)/g            -> "$1 $2"   after 2+ capitals followed by a digit
#   /([a-z\d]+)([A-Z]{2,})/g       -> "$1 $2"   omitted: only where the next rule inserts anyway
#   /([a-z\d])([A-Z])/g            -> "$1 $2"   between a lowercase letter or digit and a capital
#   /([A-Z]+)([A-Z][a-z\d]+)/g     -> "$1 $2"   before the last capital of a run followed by
#                                                a lowercase letter or digit
# Written as zero-width lookarounds because Python's backtracking makes the original forms
# quadratic on long runs of letters; the insertions are the same (checked against the JS and the
# original regexes on millions of random strings). The JS regexes have no /u flag, so \d is
# ASCII: spelled [0-9], as Python's \d would also match other scripts' digits.
_DECAMELIZE = tuple(
    re.compile(pattern)
    for pattern in (
        r"(?<=[A-Z]{2})(?=[0-9])",
        r"(?<=[a-z0-9])(?=[A-Z])",
        r"(?<=[A-Z])(?=[A-Z][a-z0-9])",
    )
)
_NOT_SLUG_CHARS = re.compile(r"[^a-z0-9]+")


def _transliterate(text: str) -> str:
    """Apply REPLACEMENTS in order, like transliterate's loop of global replaces, but fast.

    Only keys whose first character occurs in `text` are tried. That is exact because every
    replacement value is ASCII and contains no key's first character, so no replacement can
    create an occurrence of a later key (tests/test_slugify.py checks this of the tables).
    """
    candidates = sorted(
        index for char in set(text) for index in _KEY_INDICES_BY_FIRST_CHAR.get(char, ())
    )
    for index in candidates:
        key, value = REPLACEMENTS[index]
        text = text.replace(key, value)
    return text


def slugify(text: str) -> str:
    """`@sindresorhus/slugify` 1.1.2 with default options, character for character.

    Steps as in the JS: NFC, transliterate (ordered replacements, then lodash.deburr), split
    camelCase with ASCII-only regexes, lowercase, turn each run of characters other than
    `a-z0-9` into one `-`, trim `-` at both ends. The JS then also deletes backslashes and
    collapses repeated dashes; with the default separator both are no-ops after that run
    replacement, so they are omitted.
    """
    if text.isascii():
        # NFC and deburr leave ASCII unchanged.
        for key, value in _ASCII_REPLACEMENTS:
            text = text.replace(key, value)
    else:
        text = _transliterate(unicodedata.normalize("NFC", text)).translate(_DEBURR_TABLE)
    for pattern in _DECAMELIZE:
        text = pattern.sub(" ", text)
    return _NOT_SLUG_CHARS.sub("-", text.lower()).strip("-")


def garden_url_path(path: str) -> str:
    """The plugin's `generateUrlPath(path)` (slugify enabled): `"a/B c.md"` -> `"a/b-c/"`.

    Like the plugin, it cuts at the last `.` anywhere in the path, not only in the file name, so
    `"I. Teaching/Physics/Torque"` becomes `"i/"`; an empty path stays empty. The permalink the
    plugin publishes is `"/" + garden_url_path(path)`.
    """
    if not path:
        return path
    if "." in path:
        path = path[: path.rfind(".")]
    return "/".join(slugify(segment) for segment in path.split("/")) + "/"


def sanitize_permalink(value: str) -> str:
    """The plugin's `sanitizePermalink` for a `dg-permalink` value: add a missing `/` at either end.

    Nothing else: the value is not slugified (spaces and case are kept), and a slash already
    there is not doubled, so `"/a/"` stays `"/a/"` and `"a//b"` becomes `"/a//b/"`.
    """
    if not value.endswith("/"):
        value += "/"
    if not value.startswith("/"):
        value = "/" + value
    return value
