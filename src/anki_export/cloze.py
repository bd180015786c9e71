"""Cloze deletions: Anki's own `{{c1::text::hint}}` written in a note, and, on request,
`==highlights==`, numbered so that every cloze keeps its card while the note is edited.

Rendering (`pulldown/clozes.py`) reads a cloze as Anki will, but with Markdown's eyes: the `}}`
that closes it and the `::` before a hint are looked for in text, outside code spans, math and
HTML, so `{{c1::$x^{a_{b}}$}}` closes where the writer meant. Inside `$math$` a cloze closes
at the first `}}` outside the TeX's own braces. Our markers travel through the sanitiser as
noncharacters (no note contains them, nh3 keeps them); `protect` then escapes every other `{{`,
`}}` and `::` of the card (code, math, headings, embeds, hints) as character references, which
the browser shows as typed and Anki's cloze parser does not see. Only then do the markers
become Anki's `{{cN::`, `::` and `}}`.

Nothing here imports the parser, so `config.py` can read the modes cheaply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

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


def _identity(source: str) -> str:
    """A cloze's text as it is known between builds: case and spacing folded."""
    return " ".join(source.casefold().split())
