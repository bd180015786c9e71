"""Section Markdown in, sanitised card HTML and media references out.

This module (with `pulldown/`, the writer on pulldown-cmark's events, and the Obsidian
constructs in `obsidian/`) is the only one that knows the parser: everything else hands it
Markdown text and gets HTML back, and the golden tests in `tests/fixtures/render/` guard
whatever sits behind `render_markdown`. Everything that leaves here is sanitised: by `sanitise`,
or written by the writer in the very form nh3 gives back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from . import escape
from .cloze import TOGETHER, ClozeScan, ClozeText, cloze_text
from .cloze_numbers import number_clozes
from .errors import Diagnostic, Level
from .ids import media_name
from .obsidian.code import load_highlighters
from .obsidian.embeds import Embed
from .obsidian.links import image_src, page_url
from .parse import Note
from .pulldown import render_events
from .vault import VaultIndex, shared_path

if TYPE_CHECKING:
    import nh3

__all__ = ["ImageSrc", "LinkTargets", "RenderState", "Rendered", "load_renderers", "page_url",
           "render_inline", "render_markdown", "sanitise"]

ImageSrc = Callable[[str], str | None]
"""What an `<img src>` becomes on the card: a file of the package, or None to drop it."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A piece of Markdown as a card shows it, with what it refers to."""

    html: str  # sanitised
    media: tuple[PurePosixPath, ...]  # vault files the HTML refers to
    diagnostics: tuple[Diagnostic, ...]
    tags: tuple[str, ...] = ()  # Anki tags (`a::b`) from inline `#tags`
    clozes: ClozeText | None = None  # set when the text holds clozes: it is a cloze note's
    # text, and `html` shows the clozes numbered as a first build would number them


Lookup = tuple[str, str, str, object]
"""What rendering asked of the vault, and the answer: ("file", target, linking note, the file
found or None) or ("note", file, "", the note's permalink and title, or None)."""


@dataclass(frozen=True, slots=True)
class LinkTargets:
    """What links, embeds and images can point at: the vault's files and its published notes.

    Rendering asks only through `resolve` and `note`; a recording copy (`recording`) lists
    every question with its answer, so the render cache can tell whether a note's cards still
    stand in a changed vault (`answers_hold`) without rendering it again."""

    index: VaultIndex
    notes: Mapping[PurePosixPath, Note]  # notes in this build (published ones by default)
    site_url: str | None = None  # garden base URL: wiki-links become links to garden pages
    media_src: Callable[[PurePosixPath], str] = media_name  # `<img src>` of a vault file: its
    # name in the package; the preview page uses a path to the file itself
    lookups: list[Lookup] | None = None  # what was asked, when recording
    embeds: dict[tuple[PurePosixPath, str], Embed] = field(
        default_factory=dict, compare=False)  # (note, heading or block) → what an embed
    # of it shows, made once per build; the recording copies share it

    def recording(self) -> LinkTargets:
        return replace(self, lookups=[])

    def resolve(self, target: str, near: PurePosixPath) -> PurePosixPath | None:
        """The vault file a link, embed or image names (see `VaultIndex.resolve`)."""
        found = self.index.resolve(target, near=near)
        if self.lookups is not None:
            self.lookups.append(("file", target, near.as_posix(), _posix(found)))
        return found

    def note(self, rel: PurePosixPath) -> Note | None:
        """The note of this build in that file, if any."""
        found = self.notes.get(rel)
        if self.lookups is not None:
            self.lookups.append(("note", rel.as_posix(), "", _note_answer(found)))
        return found

    def answers_hold(self, lookups: Sequence[Lookup]) -> bool:
        """Whether every question gets the answer it got when the lookups were recorded:
        asked again through `resolve` and `note`, not recording."""
        asking = self if self.lookups is None else replace(self, lookups=None)
        # Paths as the index's own objects (`share_paths`): one parsed a lookup took 0.5 s at
        # 20,000 notes.
        for kind, asked, near, answer in lookups:
            found: object = (
                _posix(asking.resolve(asked, shared_path(near))) if kind == "file"
                else _note_answer(asking.note(shared_path(asked))))
            if found != answer:
                return False
        return True


def _posix(rel: PurePosixPath | None) -> str | None:
    return None if rel is None else rel.as_posix()


def _note_answer(note: Note | None) -> tuple[str, str] | None:
    """What a link shows of the note it points at: its page (permalink) and its title."""
    return None if note is None else (note.permalink, note.title)


@dataclass(slots=True)
class RenderState:
    """What the writer may look up and report while one piece of Markdown renders."""

    note: PurePosixPath
    line: int  # 1-based file line where the Markdown starts
    targets: LinkTargets | None = None
    depth: int = 0  # 0 for a card's own text, 1 inside an embedded note (whose embeds are links)
    media: list[PurePosixPath] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    clozes: ClozeScan | None = field(default_factory=ClozeScan)  # `{{c1::x}}` (and, if the
    # section asks, `==x==`) become clozes; None where a cloze cannot work: a heading

    def warn(self, code: str, message: str, line_in_markdown: int = 0) -> None:
        self.diagnostics.append(Diagnostic(Path(self.note), self.line + line_in_markdown,
                                           Level.WARNING, code, message))

    def image_src(self, source: str | None = None) -> ImageSrc:
        """How sanitising maps each `<img src>` of this rendering: an image rendering resolved
        already keeps its name in the package; with `source`, the Markdown the HTML came from,
        any other (a raw `<img>` of the note) is looked up in the vault like a Markdown image,
        and warned about on the first line of `source` that holds it; the rest is dropped."""
        known = {self.targets.media_src(rel) for rel in self.media} if self.targets else set()

        def src(value: str) -> str | None:
            if value in known:
                return value
            if source is None:
                return None
            at = source.find(value)
            return image_src(self, value, source.count("\n", 0, at) if at >= 0 else 0)
        return src

    def result(self, html: str, *, clean: bool = False, source: str | None = None) -> Rendered:
        """The rendering as the card gets it: sanitised (unless `clean` says it is already as
        nh3 would give it; `source` as in `image_src`), as a field holds it (`escape.field`),
        media and tags listed once each; with clozes, every other `{{`, `}}` and `::` escaped
        so that Anki reads only those."""
        clean_html = escape.field(html if clean else sanitise(html, self.image_src(source))).strip()
        clozes = None
        if self.clozes is not None and self.clozes.found:
            clozes = cloze_text(clean_html, self.clozes.found,
                                together=self.clozes.highlights == TOGETHER)
            if clozes is not None:
                clean_html = clozes.fill(number_clozes(clozes).highlights)
        return Rendered(clean_html, tuple(dict.fromkeys(self.media)), tuple(self.diagnostics),
                        tuple(dict.fromkeys(self.tags)), clozes)


_ALLOWED_TAGS = {
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "center", "cite", "code", "col",
    "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
    "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "ins", "kbd", "li",
    "mark", "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "section", "small", "span",
    "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "u", "ul", "var", "wbr",
}
_ALLOWED_ATTRIBUTES = {
    "*": {"class", "title", "lang", "dir", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "div": {"align", "data-callout", "data-callout-metadata"},
    "details": {"open", "data-callout", "data-callout-metadata"},
    "p": {"align"},
    "font": {"color"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start", "type"},
    "input": {"checked", "disabled"},
}
# The only attribute above that loads anything is `<img src>` (`_attribute_filter`): no `srcset`,
# `poster`, `background`, `data`, no `<audio>`, `<video>`, `<source>`, `<object>`, `<svg>`.
_ALLOWED_VALUES = {"input": {"type": {"checkbox"}}}
_STYLE_PROPERTIES = {  # inline styles that Obsidian users write; none of them can load a URL
    "background-color", "color", "font-style", "font-weight", "text-align", "text-decoration",
    "vertical-align",
}


def _no_image(src: str) -> None:
    return None


_IMAGE_SRC: ContextVar[ImageSrc] = ContextVar("image_src", default=_no_image)
"""The `ImageSrc` of the `sanitise` call under way. The cleaner is built once (building it
costs more than cleaning a section), so its attribute filter finds the call's own here."""


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """Every `<img src>` as the call's `ImageSrc` maps it, on nh3's own parse of the HTML, the
    one that decides what the card's browser sees (an `<img>` that another parser reads as
    text, inside `<noscript>` or `<title>`, is an image here too). nh3 calls this only for
    attributes it keeps, after its URL scheme check, and does not check what it returns."""
    if attribute == "src":
        return _IMAGE_SRC.get()(value) if tag == "img" else None
    return value


@cache
def _cleaner() -> nh3.Cleaner:
    """Built once: configuring nh3 costs more than cleaning a section. Imported here: the
    sections most builds render need no sanitising (see `pulldown`)."""
    import nh3

    return nh3.Cleaner(tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES,
                       tag_attribute_values=_ALLOWED_VALUES,
                       filter_style_properties=_STYLE_PROPERTIES,
                       url_schemes={"http", "https", "mailto"}, link_rel=None,
                       attribute_filter=_attribute_filter, strip_comments=True)


def sanitise(fragment: str, image_src: ImageSrc = _no_image) -> str:
    """Allowlist sanitising with nh3: no scripts, handlers, `javascript:` URLs, frames, objects,
    or styles that load anything; cards must never run code in Anki. Images load only files of
    the package: each `<img src>` goes through `image_src` (by default, every one is dropped),
    so a card built from someone else's notes never tells a server who studies when."""
    token = _IMAGE_SRC.set(image_src)
    try:
        return _cleaner().clean(fragment)
    finally:
        _IMAGE_SRC.reset(token)


def load_renderers(code_languages: Iterable[str] = ()) -> None:
    """Make what rendering makes on first use: the sanitiser and the highlighters of these
    languages. Called before forking workers, which then share them instead of each making
    them on its first sections (at 1,000 notes, 40 ms of each worker's first chunks)."""
    _cleaner()
    load_highlighters(code_languages)


def render_markdown(markdown: str, state: RenderState) -> Rendered:
    """Render block Markdown (a section body) to sanitised HTML, on pulldown-cmark's events."""
    html, clean = render_events(markdown, state)
    return state.result(html, clean=clean, source=markdown)


def embedded_html(markdown: str, state: RenderState) -> str:
    """The sanitised HTML of an embedded note's part (`obsidian.links.note_embed`), rendered
    like a section; sanitised here, so that its raw `<img>` tags resolve from its own note."""
    html, clean = render_events(markdown, state)
    return html if clean else sanitise(html, state.image_src(markdown))


_MARKUP = re.compile(r"[\\`*_\[\]<>!&$=%{}#~^|\n]|::|https?:|www\.")
"""Characters and runs that can start Markdown, HTML or Obsidian syntax in one line."""


def render_inline(markdown: str, state: RenderState) -> Rendered:
    """Render one line of inline Markdown (a heading) without a wrapping paragraph: as the
    text of a `#` heading, on the events path (the closing ` #` keeps a `#` of its own).

    Most headings are plain words: those skip the parser and the sanitiser, escaped as nh3
    would escape them (carriage returns never get here, `vault.read_note` drops them), since
    parsing every question costs more than its answer's sanitising."""
    if not _MARKUP.search(markdown):
        return state.result(escape.text(markdown), clean=True)
    html, clean = render_events(f"# {markdown} #\n", state)
    text, _, footnotes = html.removeprefix("<h1>").partition("</h1>\n")
    return state.result(text + footnotes, clean=clean, source=markdown)
