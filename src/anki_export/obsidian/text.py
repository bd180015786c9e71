"""Small inline constructs: `#tags`, ` ^block-ids`, and Dataview's `(key:: value)` fields, as
the passes over pulldown-cmark's events (`pulldown.marks`, `pulldown.writer`) find them.
"""

from __future__ import annotations

import re

__all__ = ["BLOCK_ID", "FIELD_OPEN", "TAG"]

TAG = re.compile(r"#([\w-]+(?:/[\w-]+)*)")
"""An inline `#tag` (Obsidian's rule: after a space or at the start, at least one letter): shown
as a tag on the card and collected as an Anki tag (`a/b` → `a::b`)."""
BLOCK_ID = re.compile(r"(?:^|[ \t]+)\^[A-Za-z0-9-]+[ \t]*$")
"""An Obsidian block id ending a paragraph, list item or heading: it addresses the block for
links and embeds, it is not text."""
FIELD_OPEN = re.compile(r"\(\w[\w -]*::[ \t]*")
"""The opening of Dataview's `(key:: value)`, which shows as `value` (the garden's
`hideDataview`)."""
