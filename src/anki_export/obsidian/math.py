"""`$inline$` and `$$display$$` math, written out in the delimiters Anki's MathJax reads.

Anki typesets `\\(…\\)` and `\\[…\\]` found in the card's text, so the TeX is emitted as escaped
text between them. Which dollars are math follows markdown-it-mathjax3, the garden's renderer:
an opening `$` is not followed by a space, a closing `$` is not preceded by one nor followed by a
digit, so `costs $5 and $10` stays text while `$a$b` is math; `$$` inside a line is not math
either. Display blocks (`$$` on their own lines, also in lists and quotes, also right below a
line of text) use mdit-py-plugins' dollarmath block rule, which matches the garden's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from mdit_py_plugins.dollarmath.index import math_block_dollar

if TYPE_CHECKING:
    from markdown_it.renderer import RendererProtocol
    from markdown_it.utils import EnvType, OptionsDict


_DOLLAR_BLOCK = math_block_dollar(allow_labels=False, allow_blank_lines=True)


def math_plugin(md: MarkdownIt) -> None:
    md.inline.ruler.before("escape", "math_inline", _math_inline)
    md.block.ruler.before("fence", "math_block", _math_block,
                          {"alt": ["paragraph", "reference", "blockquote", "list"]})
    md.add_render_rule("math_inline", _render_inline)
    md.add_render_rule("math_block", _render_block)


def _math_block(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """dollarmath's block rule, made safe to ask whether a `$$` line ends a paragraph (as it
    does in the garden): asked silently, that rule would already push its token."""
    if silent:
        first = state.bMarks[start] + state.tShift[start]
        return state.sCount[start] - state.blkIndent < 4 and state.src.startswith("$$", first)
    return _DOLLAR_BLOCK(state, start, end, silent)


def _math_inline(state: StateInline, silent: bool) -> bool:
    src, start, end = state.src, state.pos, state.posMax
    if src[start] != "$":
        return False
    if src.startswith("$$", start):
        if not silent:
            state.pending += "$$"
        state.pos += 2
        return True
    if start + 1 >= end or src[start + 1] in " \t":
        return False
    close = src.find("$", start + 1, end)
    while close > 0 and _escaped(src, close):
        close = src.find("$", close + 1, end)
    if close < 0 or src[close - 1] in " \t" or src[close + 1 : close + 2].isdigit():
        return False
    if not silent:
        token = state.push("math_inline", "math", 0)
        token.content = src[start + 1 : close]
        token.markup = "$"
    state.pos = close + 1
    return True


def _escaped(src: str, pos: int) -> bool:
    """An odd number of backslashes before `pos` escapes the character there."""
    first = pos
    while first > 0 and src[first - 1] == "\\":
        first -= 1
    return (pos - first) % 2 == 1


def _render_inline(self: RendererProtocol, tokens: Sequence[Token], idx: int,
                   options: OptionsDict, env: EnvType) -> str:
    return f"\\({escapeHtml(tokens[idx].content)}\\)"


def _render_block(self: RendererProtocol, tokens: Sequence[Token], idx: int,
                  options: OptionsDict, env: EnvType) -> str:
    return f'<div class="ae-math">\\[{escapeHtml(tokens[idx].content.strip())}\\]</div>\n'
