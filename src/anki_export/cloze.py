"""Cloze deletions: Anki's own `{{c1::text::hint}}` written in a note, and, on request,
`==highlights==`, numbered so that every cloze keeps its card while the note is edited.

Rendering. The inline rule reads a cloze as Anki will, but with Markdown's eyes: the `}}` that
closes it and the `::` before a hint are looked for outside code spans, math, links and nested
clozes, so `{{c1::$x^{a_{b}}$}}` closes where the writer meant. Inside `$math$` a cloze closes
at the first `}}` outside the TeX's own braces. Our markers travel through the sanitiser as
noncharacters (no note contains them, nh3 keeps them); `protect` then escapes every other `{{`,
`}}` and `::` of the card (code, math, headings, embeds, hints) as character references, which
the browser shows as typed and Anki's cloze parser does not see. Only then do the markers
become Anki's `{{cN::`, `::` and `}}`.

Nothing here imports the parser at run time, so `config.py` can read the modes cheaply.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.renderer import RendererProtocol
    from markdown_it.rules_core import StateCore
    from markdown_it.rules_inline import StateInline
    from markdown_it.token import Token
    from markdown_it.utils import EnvType, OptionsDict

HIGHLIGHTS = "highlights"  # each ==highlight== is a cloze of its own: one card each
TOGETHER = "highlights-together"  # every highlight of a section hidden at once, on one card
OFF = "off"  # ==highlights== stay highlights (the default)
MODES = (HIGHLIGHTS, TOGETHER, OFF)
MAX_NUMBER = 500  # Anki makes cards for c1 … c500
KEY_SUFFIX = "~cloze"
"""Added to a cloze section's key before it becomes a GUID: Anki never changes the notetype of a
note it has (it logs the import as "conflicting" and drops it), so a section that turns into a
cloze note is a new note, and its basic card is retired like a removed section."""

OPEN, SEP, HINT, CLOSE = "\ufdd0", "\ufdd1", "\ufdd2", "\ufdd3"
_PLACEHOLDER = re.compile(f"{OPEN}#(\\d+){SEP}")
_SENTINELS = re.compile(f"[{OPEN}{SEP}{HINT}{CLOSE}]")
_OPENING = re.compile(r"\{\{c(\d+)::")  # Anki's opening marker
_ANY_OPENING = re.compile(r"\{\{c([\d,]*)::")  # also what Anki reads but we do not make cards of


@dataclass(frozen=True, slots=True)
class Cloze:
    """One cloze of a section, as written or as a highlight."""

    number: int | None  # as written (`{{c3::`); None for a highlight, numbered by the build
    text: str  # the Markdown it hides, case and spacing folded: its identity between builds


@dataclass(slots=True)
class ClozeScan:
    """What the cloze rules found while one section rendered (`RenderState.clozes`)."""

    highlights: str = OFF  # HIGHLIGHTS, TOGETHER or OFF: whether (and how) ==x== is a cloze
    found: list[Cloze] = field(default_factory=list)  # in reading order


@dataclass(frozen=True, slots=True)
class ClozeText:
    """A cloze note's Text before numbering: cloze `i` of `clozes` opens with a placeholder
    `OPEN #i SEP` in `template`, so the build can number the highlights with the manifest."""

    template: str  # protected HTML of the section
    clozes: tuple[Cloze, ...]
    together: bool = False  # every highlight shares one number
    context: str = ""  # protected HTML shown above the text: note title and heading

    def fill(self, highlights: Mapping[int, int]) -> str:
        """The Text field: placeholders become Anki's markers, highlight `i` numbered
        `highlights[i]`."""
        def opener(match: re.Match[str]) -> str:
            index = int(match.group(1))
            number = self.clozes[index].number or highlights[index]
            return f"{{{{c{number}::"
        body = _PLACEHOLDER.sub(opener, self.template).replace(HINT, "::").replace(CLOSE, "}}")
        body = _SENTINELS.sub("", body)
        return f"{self.context}\n{body}" if self.context else body

    def outline(self, numbers: Iterable[int]) -> str:
        """The context and one empty cloze per number: what the build manifest keeps of the
        Text, enough to ship the note once more (with all its cards) if its section goes."""
        markers = " ".join(f"{{{{c{n}::…}}}}" for n in sorted(set(numbers)))
        return f'{self.context}\n<p class="ae-cloze-outline">{markers}</p>'


def protect(fragment: str) -> str:
    """Escape every `{{`, `}}` and `::` that is not one of our markers, and a `}` or `:` that
    would run into one, so Anki's cloze parser sees exactly the clozes we made."""
    fragment = re.sub(r"\{(?=\{)", "&#123;", fragment)
    fragment = re.sub(r"(?<=\})\}|\}(?=" + CLOSE + ")", "&#125;", fragment)
    return re.sub(r"(?<=:):|:(?=" + HINT + ")", "&#58;", fragment)


def cloze_text(fragment: str, found: Sequence[Cloze], *, together: bool) -> ClozeText | None:
    """The sanitised HTML of a section as a `ClozeText`, or None when no cloze survived the
    sanitiser (one inside a dropped `<script>`): a cloze note without clozes has no card."""
    kept: dict[int, int] = {}

    def renumber(match: re.Match[str]) -> str:
        new = kept.setdefault(int(match.group(1)), len(kept))
        return f"{OPEN}#{new}{SEP}"

    template = _PLACEHOLDER.sub(renumber, protect(fragment))
    if not kept:
        return None
    clozes = tuple(found[old] for old in sorted(kept, key=kept.__getitem__))
    return ClozeText(template, clozes, together)


# --------------------------------------------------------------------------- Markdown rules

def cloze_plugin(md: MarkdownIt) -> None:
    """`{{cN::text}}` and `{{cN::text::hint}}` as cloze tokens, whose text keeps its Markdown;
    a core rule then numbers their placeholders, finds clozes inside math, and warns about
    clozes that cannot work."""
    md.inline.ruler.before("escape", "cloze", _cloze)
    md.core.ruler.after("text_join", "clozes", _collect)
    md.add_render_rule("cloze_open", _render_open)
    md.add_render_rule("cloze_close", _render_close)


def _cloze(state: StateInline, silent: bool) -> bool:
    render = state.env.get("render")
    if render is None or render.clozes is None or render.depth:
        return False
    match = _OPENING.match(state.src, state.pos, state.posMax)
    if match is None or not 1 <= int(match.group(1)) <= MAX_NUMBER:
        return False
    found = _closing(state, match.end())
    if found is None:
        return False
    hint, close = found
    if not silent:
        opening = state.push("cloze_open", "", 1)
        opening.meta = {"number": int(match.group(1)),
                        "source": state.src[match.end() : close if hint is None else hint]}
        end = state.posMax
        state.pos, state.posMax = match.end(), close if hint is None else hint
        state.md.inline.tokenize(state)
        state.posMax = end
        closing = state.push("cloze_close", "", -1)
        closing.meta = {"hint": None if hint is None else state.src[hint + 2 : close]}
    state.pos = close + 2
    return True


def _closing(state: StateInline, start: int) -> tuple[int | None, int] | None:
    """(position of the `::` before a hint, or None; position of the closing `}}`), skipping
    whole inline tokens (code, math, links, nested clozes) as link labels are skipped. Anki
    takes the hint from the text after the last nested cloze, and so do we."""
    src, end, pos = state.src, state.posMax, state.pos
    hint: int | None = None
    state.pos = start
    try:
        while state.pos < end:
            if src.startswith("}}", state.pos):
                return hint, state.pos
            if hint is None and src.startswith("::", state.pos):
                hint = state.pos
                state.pos += 2
                continue
            nested = _OPENING.match(src, state.pos, end) is not None
            state.md.inline.skipToken(state)
            if nested:
                hint = None
        return None
    finally:
        state.pos = pos


def _render_open(self: RendererProtocol, tokens: Sequence[Token], idx: int,
                 options: OptionsDict, env: EnvType) -> str:
    return f"{OPEN}#{tokens[idx].meta['index']}{SEP}"


def _render_close(self: RendererProtocol, tokens: Sequence[Token], idx: int,
                  options: OptionsDict, env: EnvType) -> str:
    hint = tokens[idx].meta.get("hint")
    return CLOSE if hint is None else f"{HINT}{html.escape(hint, quote=False)}{CLOSE}"


def _collect(state: StateCore) -> None:
    """Record each cloze in reading order (its placeholder index), turn clozes inside math into
    markers, and warn where a cloze marker was left as text. Line numbers follow the tokens."""
    render: Any = state.env.get("render")
    if render is None or render.depth:
        return
    for token in state.tokens:
        line = token.map[0] if token.map else 0
        if token.type == "math_block":
            token.content = _math(render, token.content, line)
        elif token.type == "html_block" and _ANY_OPENING.search(token.content):
            render.warn("cloze-in-html", "a cloze inside an HTML block is shown as typed; "
                        "write it in Markdown, outside the HTML", line)
        children = token.children if token.type == "inline" and token.children else []
        for child in children:
            if child.type == "cloze_open":
                _record(render, child, line)
            elif child.type == "math_inline":
                child.content = _math(render, child.content, line)
            elif child.type == "text":
                _leftover(render, child.content, line)
            line += 1 if child.type in {"softbreak", "hardbreak"} else child.content.count("\n")


def _record(render: Any, token: Token, line: int) -> None:
    source = str(token.meta.get("source", ""))
    token.meta["index"] = len(render.clozes.found)
    render.clozes.found.append(Cloze(token.meta.get("number"), _identity(source)))
    if not source.strip():
        render.warn("cloze-empty", "an empty cloze hides nothing: its card shows a gap with "
                    "nothing behind it; write the text to hide between `::` and `}}`", line)


def record_highlight(state: StateInline, start: int, end: int) -> bool:
    """For `obsidian/text.py`: push a cloze instead of `<mark>` for the highlight whose text is
    `src[start:end]` when the section asked for highlight clozes; False leaves it a mark."""
    render = state.env.get("render")
    if render is None or render.clozes is None or render.depth or render.clozes.highlights == OFF:
        return False
    state.push("cloze_open", "", 1).meta = {"number": None, "source": state.src[start:end]}
    outer = state.posMax
    state.pos, state.posMax = start, end
    state.md.inline.tokenize(state)
    state.posMax = outer
    state.push("cloze_close", "", -1).meta = {"hint": None}
    return True


def _math(render: Any, tex: str, line: int) -> str:
    """TeX with its clozes as markers: Anki hides text inside MathJax too. A cloze closes at the
    first `}}` outside the TeX's own braces (Anki itself stops at the first `}}`)."""
    if render.clozes is None:
        if _ANY_OPENING.search(tex):
            render.warn("cloze-in-heading", _IN_HEADING, line)
        return tex
    out, pos = [], 0
    for match in _OPENING.finditer(tex):
        if match.start() < pos:
            continue  # a cloze inside a cloze in TeX: left as text
        found = _tex_closing(tex, match.end())
        if found is None or not 1 <= int(match.group(1)) <= MAX_NUMBER:
            render.warn("cloze-unclosed", f"`{match.group()}` in math is never closed with "
                        "`}}`; it shows as typed", line)
            continue
        hint, close = found
        source = tex[match.end() : close if hint is None else hint]
        render.clozes.found.append(Cloze(int(match.group(1)), _identity(source)))
        index = len(render.clozes.found) - 1
        tail = CLOSE if hint is None else f"{HINT}{tex[hint + 2 : close]}{CLOSE}"
        out += [tex[pos : match.start()], f"{OPEN}#{index}{SEP}", source, tail]
        pos = close + 2
    return "".join([*out, tex[pos:]])


def _tex_closing(tex: str, start: int) -> tuple[int | None, int] | None:
    depth, hint, pos = 0, None, start
    while pos < len(tex):
        if tex[pos] == "\\":
            pos += 2
            continue
        if depth == 0 and tex.startswith("}}", pos):
            return hint, pos
        if depth == 0 and hint is None and tex.startswith("::", pos):
            hint = pos
        if tex[pos] == "{":
            depth += 1
        elif tex[pos] == "}" and depth:
            depth -= 1
        pos += 1
    return None


_IN_HEADING = ("a cloze in a heading cannot work: the heading is the card's context (and a "
               "basic card's question); move the cloze into the section's text")


def _leftover(render: Any, text: str, line: int) -> None:
    for match in _ANY_OPENING.finditer(text):
        numbers = match.group(1)
        if render.clozes is None:
            render.warn("cloze-in-heading", _IN_HEADING, line)
        elif not numbers.isdigit() or not 1 <= int(numbers) <= MAX_NUMBER:
            render.warn("cloze-number", f"`{match.group()}` is not a cloze anki-export makes: "
                        f"write one number from 1 to {MAX_NUMBER}, e.g. `{{{{c1::`", line)
        else:
            render.warn("cloze-unclosed", f"`{match.group()}` is never closed with `}}}}` in "
                        "its paragraph; it shows as typed", line)


def _identity(source: str) -> str:
    return " ".join(source.casefold().split())
