"""`$inline$` and `$$display$$` math as Obsidian shows it, written out in the delimiters Anki's
MathJax reads.

Anki typesets `\\(…\\)` and `\\[…\\]` found in the card's text, so the TeX is emitted as escaped
text between them, never read as Markdown (`a_1 * b_2` stays TeX). pulldown-cmark finds the math
(`pulldown._OPTIONS`); `$$…$$` is display math wherever it is written, also inside a line of
text (Obsidian shows a display formula there). A display block may hold blank lines, as in
Obsidian: `math_blanks_filled` keeps them from ending pulldown-cmark's paragraph.
"""

from __future__ import annotations

import re

from .. import escape

__all__ = ["MATH_BLANK", "display_math", "math_blanks_filled"]

MATH_BLANK = "\ufdd4"
"""Put on each blank line inside a `$$` block (`math_blanks_filled`) and taken out of the TeX
again by the writer: a noncharacter, which no note holds."""

_OPENS_WITH_MATH = re.compile(r"[ \t>]*(?:(?:[-*+]|\d+[.)])[ \t]+)*\$\$")


def math_blanks_filled(markdown: str) -> str:
    """The source with `MATH_BLANK` ending each blank line inside a `$$` display block (one
    that starts a line and is closed by a later `$$`): a blank line would split pulldown-cmark's
    paragraph and leave two lines of `$$` text. No newline moves, so byte offsets still give
    the right lines (`writer.Lines`) when built from the result."""
    lines = markdown.split("\n")
    inside = False
    blanks: list[int] = []
    for n, line in enumerate(lines):
        if "$$" in line and (inside or _OPENS_WITH_MATH.match(line)):
            if line.count("$$") % 2:
                inside = not inside
                if not inside:
                    for blank in blanks:
                        lines[blank] += MATH_BLANK
            blanks = []
        elif inside and not line.strip():
            blanks.append(n)
    return "\n".join(lines)


def display_math(tex: str, *, inline: bool) -> str:
    """A display formula in Anki's `\\[…\\]`, in a box that scrolls when it is too wide: a
    `<div>` of its own, or a `<span>` shown as a block where it sits inside a line of text."""
    if inline:
        return f'<span class="ae-math">\\[{escape.text(tex.strip())}\\]</span>'
    return f'<div class="ae-math">\\[{escape.text(tex.strip())}\\]</div>\n'
