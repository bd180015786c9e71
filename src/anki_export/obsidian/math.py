"""`$inline$` and `$$display$$` math as Obsidian shows it, written out in the delimiters Anki's
MathJax reads.

Anki typesets `\\(…\\)` and `\\[…\\]` found in the card's text, so the TeX is emitted as escaped
text between them, never read as Markdown (`a_1 * b_2` stays TeX). An opening `$` is not
followed by a space, a closing `$` is not preceded by one nor followed by a digit, so
`costs $5 and $10` stays text while `$a$b` is math. `$$…$$` is display math wherever it is
written, also inside a line of text (`text $$x$$ text`: Obsidian shows a display formula there,
the published garden shows the dollars). Display blocks (`$$` on their own lines, also in lists
and quotes, also right below a line of text, also holding blank lines) use mdit-py-plugins'
dollarmath block rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from .. import escape

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererProtocol
    from markdown_it.rules_block import StateBlock
    from markdown_it.rules_inline import StateInline
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

    BlockRule = Callable[[StateBlock, int, int, bool], bool]


def math_plugin(md: MarkdownIt) -> None:
    from mdit_py_plugins.dollarmath.index import math_block_dollar

    dollar_block = math_block_dollar(allow_labels=False, allow_blank_lines=True)
    md.inline.ruler.before("escape", "math_inline", _math_inline)
    md.block.ruler.before("fence", "math_block", partial(_math_block, dollar_block),
                          {"alt": ["paragraph", "reference", "blockquote", "list"]})
    md.add_render_rule("math_inline", _render_inline)
    md.add_render_rule("math_block", _render_block)


def _math_block(dollar_block: BlockRule, state: StateBlock, start: int, end: int,
                silent: bool) -> bool:
    """dollarmath's block rule, made safe to ask whether a `$$` line ends a paragraph: asked
    silently, that rule would already push its token, so it is tried and its token taken back.
    Only a line that opens a display block ends a paragraph; `$$x$$ and more` goes on with it,
    as inline display math."""
    if not silent:
        return dollar_block(state, start, end, silent)
    tokens, line = len(state.tokens), state.line
    opens = dollar_block(state, start, end, False)
    del state.tokens[tokens:]
    state.line = line
    return opens


def _math_inline(state: StateInline, silent: bool) -> bool:
    src, start, end = state.src, state.pos, state.posMax
    if src[start] != "$":
        return False
    if src.startswith("$$", start):
        return _display_inline(state, silent)
    if start + 1 >= end or src[start + 1] in " \t\n":
        return False
    close = _closing(src, "$", start + 1, end)
    if close < 0 or src[close - 1] in " \t\n" or src[close + 1 : close + 2].isdigit():
        return False
    if not silent:
        _push(state, src[start + 1 : close], "$")
    state.pos = close + 1
    return True


def _display_inline(state: StateInline, silent: bool) -> bool:
    """`$$…$$` inside a line: display math up to the next `$$` (Obsidian's reading). A `$$`
    that closes nothing, or only space, stays text."""
    src, start = state.src, state.pos
    close = _closing(src, "$$", start + 2, state.posMax)
    if close < 0 or not src[start + 2 : close].strip():
        if not silent:
            state.pending += "$$"
        state.pos += 2
        return True
    if not silent:
        _push(state, src[start + 2 : close], "$$")
    state.pos = close + 2
    return True


def _push(state: StateInline, tex: str, markup: str) -> None:
    """One `math_inline` token; its markup (`$` or `$$`) says inline or display."""
    token = state.push("math_inline", "math", 0)
    token.content = tex
    token.markup = markup


def _closing(src: str, delimiter: str, start: int, end: int) -> int:
    """The first unescaped `delimiter` in `src[start:end]`, or -1."""
    close = src.find(delimiter, start, end)
    while close > 0 and _escaped(src, close):
        close = src.find(delimiter, close + 1, end)
    return close


def _escaped(src: str, pos: int) -> bool:
    """An odd number of backslashes before `pos` escapes the character there."""
    first = pos
    while first > 0 and src[first - 1] == "\\":
        first -= 1
    return (pos - first) % 2 == 1


def _render_inline(self: RendererProtocol, tokens: Sequence[Token], idx: int,
                   options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    if token.markup == "$$":
        return display_math(token.content, inline=True)
    return f"\\({escape.text(token.content)}\\)"


def _render_block(self: RendererProtocol, tokens: Sequence[Token], idx: int,
                  options: OptionsDict, env: EnvType) -> str:
    return display_math(tokens[idx].content, inline=False)


def display_math(tex: str, *, inline: bool) -> str:
    """A display formula in Anki's `\\[…\\]`, in a box that scrolls when it is too wide: a
    `<div>` of its own, or a `<span>` shown as a block where it sits inside a line of text.
    Shared with the fast path (`pulldown/writer.py`), which must write the same bytes."""
    if inline:
        return f'<span class="ae-math">\\[{escape.text(tex.strip())}\\]</span>'
    return f'<div class="ae-math">\\[{escape.text(tex.strip())}\\]</div>\n'
