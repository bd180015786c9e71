"""Callouts: a blockquote whose first line is `[!type|meta]±? Title` becomes a styled box.

Same reading as the garden template and Obsidian: the type (lowercased) picks the colour, an empty
title shows the type capitalised, `-` folds the box shut and `+` makes it foldable but open, both
as `<details>` so folding works in Anki without JavaScript. The writer (`pulldown.writer`) reads
the marker off the first text of a blockquote.
"""

from __future__ import annotations

import re

__all__ = ["CALLOUT"]

CALLOUT = re.compile(r"\[!([\w-]+)(?:\|([^\]]*))?\]([+-]?)[ \t]*(.*)")
