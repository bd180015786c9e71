"""Fenced code highlighted at build time with Pygments.

The card gets plain `<span class="hl-…">` elements and the colours live in `card.css`: no
JavaScript, so highlighting works offline and on every Anki client. `pygments_css()` gives the
rules that `card.css` carries, for day and night; a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from .. import escape

if TYPE_CHECKING:  # Pygments is imported when the first code block needs it
    from pygments.formatters import HtmlFormatter
    from pygments.lexer import Lexer

CLASS_PREFIX = "hl-"
DAY_STYLE = "default"
NIGHT_STYLE = "github-dark"
NIGHT_CLASSES = ("nightMode", "night_mode")  # Anki desktop and AnkiDroid; AnkiMobile uses both


HIGHLIGHTED = 200_000
"""Characters of one code block that Pygments highlights (some 5,000 lines, 1 to 2 s); the
rest shows as plain text (`partly_highlighted`): a 6 MB block took a minute and 2.35 GB."""


def highlight_code(code: str, lang: str) -> str:
    """Highlighted HTML, or "" where the writer escapes the code itself (no language, or one
    Pygments does not know, such as `dataview`, or `text`)."""
    if is_plain(lang) and code.endswith("\n") and not code.startswith("\ufeff") \
            and "\r" not in code:
        return ""
    from pygments import highlight

    lexer = _lexer(lang)
    if lexer is None:
        return ""
    if len(code) <= HIGHLIGHTED:
        html: str = highlight(code, lexer, _formatter(DAY_STYLE))
        return html
    head = code[: code.rfind("\n", 0, HIGHLIGHTED) + 1]  # whole lines (none, if the first
    # is that long)
    html = highlight(head, lexer, _formatter(DAY_STYLE)) if head else ""
    return html + escape.text(code[len(head) :])


def partly_highlighted(code: str, lang: str) -> bool:
    """Whether `highlight_code` highlights only the first `HIGHLIGHTED` characters."""
    return len(code) > HIGHLIGHTED and not is_plain(lang) and _lexer(lang) is not None


def is_plain(lang: str) -> bool:
    """`text`: Pygments' plain-text lexer only escapes the code, which is then what escaping
    it without Pygments gives once sanitised (`tests/test_render.py` compares). Skipping it
    spares a rebuild that renders a note with such a block Pygments' import and formatter
    (8 ms). Pygments also adds a newline to code without one, drops a leading byte order
    mark and turns carriage returns into newlines: such code still goes to it."""
    return lang.lower() == "text"


def load_highlighters(languages: Iterable[str]) -> None:
    """Pygments, and the lexers of these languages with their rules compiled (a lexer class
    compiles its rules when first made)."""
    highlighted = [lang for lang in languages if not is_plain(lang)]
    if highlighted:
        _formatter(DAY_STYLE)
    for lang in highlighted:
        _lexer(lang)


@lru_cache(maxsize=64)
def _lexer(lang: str) -> Lexer | None:
    """Looked up once per language: Pygments searches every lexer it has for the name."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(lang, stripnl=False)
    except ClassNotFound:
        return None


@cache
def _formatter(style: str) -> HtmlFormatter[str]:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style=style, nowrap=True, classprefix=CLASS_PREFIX)


def pygments_css() -> str:
    """The token colours for code on cards, day then night (the token rules only: `card.css`
    styles the `<pre>` boxes itself)."""
    day: list[str] = _formatter(DAY_STYLE).get_token_style_defs(  # type: ignore[no-untyped-call]
        ".ae-card pre")
    night: list[str] = _formatter(NIGHT_STYLE).get_token_style_defs(  # type: ignore[no-untyped-call]
        [f".{mode} .ae-card pre" for mode in NIGHT_CLASSES])
    return "\n".join([*day, *night]) + "\n"
