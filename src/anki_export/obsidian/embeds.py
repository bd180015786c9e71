"""What an embed shows: the Markdown of a whole note, of one heading's part, or of one block.

The note is rebuilt from its sections (its intro, when a card, first; skipped sections are not
part of a `Note`), then cut with block tokens: a heading's part runs to the next heading
of the same or a higher level (the garden's rule, headings compared by slug), a block is the
paragraph or list item ending in ` ^id`.
"""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING

from ..slugify import slugify

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

    from ..parse import Note


def embedded_markdown(md: MarkdownIt, note: Note, ref: str) -> str | None:
    """The Markdown `![[note#ref]]` shows; None when `ref` names no heading or block."""
    text = "\n\n".join(f"{'#' * note.level} {s.heading}\n{s.body}" if s.path else s.body
                       for s in note.sections)
    if not ref:
        return text
    tokens: list[Token] = []
    md.block.parse(text, md, {}, tokens)
    lines = text.split("\n")
    found = _block(tokens, ref[1:]) if ref.startswith("^") else _heading_part(tokens, ref)
    if found is None:
        return None
    start, end = found
    return textwrap.dedent("\n".join(lines[start : end if end >= 0 else len(lines)]))


def _heading_part(tokens: list[Token], ref: str) -> tuple[int, int] | None:
    """Lines below the heading named `ref`, up to the next heading at its level or above."""
    want = _heading_key(ref)
    for i, token in enumerate(tokens):
        if (token.type == "heading_open" and token.level == 0 and token.map
                and _heading_key(tokens[i + 1].content) == want):
            level = int(token.tag[1:])
            end = next((t.map[0] for t in tokens[i + 1 :] if t.type == "heading_open"
                        and t.level == 0 and t.map and int(t.tag[1:]) <= level), -1)
            return token.map[1], end
    return None


def _heading_key(heading: str) -> str:
    return slugify(heading) or heading.strip().casefold()


def _block(tokens: list[Token], block_id: str) -> tuple[int, int] | None:
    """Lines of the list item or paragraph whose text ends with ` ^block_id`."""
    marker = re.compile(rf"(?:^|\s)\^{re.escape(block_id)}\s*$")
    items: list[Token] = []
    for i, token in enumerate(tokens):
        if token.type == "list_item_open":
            items.append(token)
        elif token.type == "list_item_close":
            items.pop()
        elif token.type == "inline" and marker.search(token.content):
            block = items[-1] if items else tokens[i - 1]
            return (block.map[0], block.map[1]) if block.map else None
    return None
