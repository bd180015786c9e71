"""What an embed shows: the Markdown of a whole note, of one heading's part, or of one block.

The note is rebuilt from its sections (its intro, when a card, first; skipped sections are not
part of a `Note`), then cut on pulldown-cmark's events: a heading's part runs to the next heading
of the same or a higher level (the garden's rule, headings compared by slug), a block is the
paragraph or list item ending in ` ^id`.
"""

from __future__ import annotations

import re
import textwrap
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, NamedTuple

import pyromark

from ..parse import heading_text
from ..slugify import slugify

if TYPE_CHECKING:
    from ..parse import Note
    from ..render import Lookup


@dataclass(frozen=True, slots=True)
class Embed:
    """What `![[Note#part]]` shows, the same in every card that embeds it (embeds inside an
    embed are links, clozes are not made there): rendered once per build, as a note embedding
    another's part 10,000 times, cutting and rendering that note for each, took a minute."""

    found: bool  # the note has that heading or block (else the embed shows the whole note)
    html: str  # rendered and sanitised, its raw images resolved from its own folder
    media: tuple[PurePosixPath, ...]
    lookups: tuple[Lookup, ...]  # what rendering it asked, asked again for each card showing it


def embedded_markdown(note: Note, ref: str) -> str | None:
    """The Markdown `![[note#ref]]` shows; None when `ref` names no heading or block."""
    text = "\n\n".join(f"{'#' * note.level} {s.heading}\n{s.body}" if s.path else s.body
                       for s in note.sections)
    if not ref:
        return text
    blocks = _blocks(text)
    found = _block(blocks, ref[1:]) if ref.startswith("^") else _heading_part(blocks, ref)
    if found is None:
        return None
    lines = text.split("\n")
    start, end = found
    return textwrap.dedent("\n".join(lines[start : end if end >= 0 else len(lines)]))


class _Block(NamedTuple):
    """A heading or paragraph of the note, from pulldown-cmark's events (pyromark)."""

    level: int  # of a top-level heading; 0 for anything else
    lines: tuple[int, int]  # its first line, and the line after it
    text: str  # its source, as written
    item: tuple[int, int] | None  # the lines of the innermost list item holding it


def _blocks(text: str) -> list[_Block]:
    """Every heading and paragraph, with its lines and the list item it is in."""
    data = text.encode("utf-8")
    newlines = [m.start() for m in re.finditer(b"\n", data)]

    def lines(span: dict[str, int]) -> tuple[int, int]:
        start, end = span["start"], max(span["end"], span["start"] + 1)
        return bisect_left(newlines, start), bisect_left(newlines, end - 1) + 1

    found: list[_Block] = []
    open_tags: list[str] = []
    items: list[tuple[int, int]] = []
    item_text: int | None = None  # where the text of a tight item (no paragraph) starts
    events: Iterable[tuple[Any, Any]] = pyromark.events_with_range(text, options=_OPTIONS)
    for event, span in events:
        if event.__class__ is not dict or ("Start" not in event and "End" not in event):
            continue
        tag: Any = event["Start"] if "Start" in event else event["End"]
        name = tag if isinstance(tag, str) else next(iter(tag))
        if name in _INLINE:
            continue
        if item_text is not None:
            found.append(_Block(0, items[-1], data[item_text : span["start"]].decode("utf-8"),
                                items[-1]))
            item_text = None
        if "End" in event:
            open_tags.pop()
            if name == "Item":
                items.pop()
            continue
        if name == "Item":
            items.append(lines(span))
            item_text = span["start"]
        elif name in ("Heading", "Paragraph"):
            level = int(tag["Heading"]["level"][1]) if name == "Heading" and not open_tags else 0
            found.append(_Block(level, lines(span), data[span["start"] : span["end"]].decode(
                "utf-8").rstrip("\n"), items[-1] if items else None))
        open_tags.append(name)
    return found


_INLINE = frozenset({"Emphasis", "Strong", "Strikethrough", "Link", "Image", "Superscript",
                     "Subscript"})
_OPTIONS = (pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_MATH
            | pyromark.Options.ENABLE_FOOTNOTES)


def _heading_part(blocks: list[_Block], ref: str) -> tuple[int, int] | None:
    """Lines below the heading named `ref`, up to the next heading at its level or above."""
    want = _heading_key(ref)
    for i, block in enumerate(blocks):
        if block.level and _heading_key(heading_text(block.text)) == want:
            end = next((b.lines[0] for b in blocks[i + 1 :] if 0 < b.level <= block.level), -1)
            return block.lines[1], end
    return None


def _heading_key(heading: str) -> str:
    return slugify(heading) or heading.strip().casefold()


def _block(blocks: list[_Block], block_id: str) -> tuple[int, int] | None:
    """Lines of the list item or paragraph whose text ends with ` ^block_id`."""
    marker = re.compile(rf"(?:^|\s)\^{re.escape(block_id)}\s*$")
    for block in blocks:
        if marker.search(block.text):
            return block.item or block.lines
    return None
