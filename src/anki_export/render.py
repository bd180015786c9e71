"""Section Markdown in, sanitised card HTML and media references out.

This module is the only one that knows the parser: everything else hands it Markdown text and
gets HTML back, so the parser can be swapped without touching the pipeline, and the golden tests
in `tests/fixtures/render/` guard whatever sits behind `render_markdown`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath

import nh3
from markdown_it import MarkdownIt

from .errors import Diagnostic, Level
from .obsidian import wikilinks_plugin
from .parse import Note
from .vault import VaultIndex


@dataclass(frozen=True, slots=True)
class Rendered:
    html: str
    media: tuple[PurePosixPath, ...]  # vault files the HTML refers to
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True, slots=True)
class LinkTargets:
    """What links, embeds and images can point at: the vault's files and its published notes."""

    index: VaultIndex
    notes: Mapping[PurePosixPath, Note]  # notes in this build (published ones by default)
    site_url: str | None = None  # garden base URL: wiki-links become links to garden pages


@dataclass(slots=True)
class RenderState:
    """What the plugins may look up and report while one piece of Markdown renders."""

    note: PurePosixPath
    line: int  # 1-based file line where the Markdown starts
    targets: LinkTargets | None = None
    media: list[PurePosixPath] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def warn(self, code: str, message: str, line_in_markdown: int = 0) -> None:
        self.diagnostics.append(Diagnostic(Path(self.note), self.line + line_in_markdown,
                                           Level.WARNING, code, message))

    def wikilink_html(self, target: str, alias: str) -> str:
        """A wiki-link reads as its alias, else as Obsidian shows it: `Note`, `Note > Heading`."""
        if alias:
            return html.escape(alias)
        page, _, heading = target.partition("#")
        name = PurePosixPath(page).name if page else ""
        shown = " > ".join(p for p in (name, heading.lstrip("^")) if p)
        return html.escape(shown or target)


@cache
def _markdown() -> MarkdownIt:
    # breaks=True: a single newline is a line break in Obsidian and on the published garden.
    md = MarkdownIt("commonmark", {"html": True, "breaks": True}).enable(["table", "strikethrough"])
    md.use(wikilinks_plugin)
    return md


_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "input", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "u", "ul",
}
_ALLOWED_ATTRIBUTES = {
    "*": {"class", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "style"},
    "th": {"colspan", "rowspan", "style"},
    "ol": {"start"},
    "details": {"open"},
    "input": {"type", "checked", "disabled"},
}


def _no_remote_images(tag: str, attribute: str, value: str) -> str | None:
    """Cards built from someone else's notes must not load tracking pixels when studied."""
    if tag == "img" and attribute == "src" and ("://" in value or value.startswith("//")):
        return None
    return value


def sanitise(fragment: str) -> str:
    """Allowlist sanitising with nh3: no scripts, handlers, `javascript:` URLs or embeds."""
    return nh3.clean(fragment, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel=None,
                     attribute_filter=_no_remote_images, strip_comments=True)


def render_markdown(markdown: str, state: RenderState) -> Rendered:
    """Render block Markdown (a section body) to sanitised HTML."""
    out = _markdown().render(markdown, {"render": state})
    return Rendered(sanitise(out).strip(), tuple(state.media), tuple(state.diagnostics))


def render_inline(markdown: str, state: RenderState) -> Rendered:
    """Render one line of inline Markdown (a heading) without a wrapping paragraph."""
    out = _markdown().renderInline(markdown, {"render": state})
    return Rendered(sanitise(out).strip(), tuple(state.media), tuple(state.diagnostics))
