"""Wiki-links, images and embeds, resolved against the vault the way Obsidian resolves them.

pulldown-cmark finds `[[…]]`, `![[…]]` and Markdown links and images; the writer
(`pulldown.writer`) asks here for the HTML each stands for. Raw `<img>` tags are left to the
sanitiser, which maps each `src` through `image_src` on its own parse of the HTML (see
`render.sanitise`).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from .. import escape
from ..slugify import slugify
from ..vault import GARDEN_IMAGE_URL, GARDEN_IMAGES, named_like_image
from .embeds import Embed, embedded_markdown

if TYPE_CHECKING:
    from ..parse import Note
    from ..render import RenderState

WIKILINK = re.compile(r"!?\[\[([^\[\]\n]+?)\]\]")
SIZE = re.compile(r"(\d+)(?:x(\d+))?")
REMOTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:|//")  # a URL scheme (not `C:`), or `//host`:
# a web address, which a Markdown link keeps and a Markdown image becomes a link to
SAFE_URL = re.compile(r"(?:https?|mailto):|//", re.I)
"""What `render.sanitise` lets through as a link (`url_schemes`; `//host` is relative): HTML
written without the sanitiser (`pulldown`, a remote image's link) links nothing else."""
_SCHEME_OR_ROOT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:|[/\\]")
_TRIMMED = "".join(map(chr, range(0x21)))  # C0 controls and the space


def loads_elsewhere(url: str) -> bool:
    """Whether a browser reads `url` as anything but a path below the card's folder: one with a
    scheme (`https:host`, `data:`, `C:`), or starting with `/` or `\\` (the server's root,
    `//host`, `/\\host`), once trimmed as the WHATWG URL parser trims (C0 controls and spaces
    around it, tabs and newlines anywhere). Only paths that are none of these may be looked up
    in the vault for an image: everything else could load from somewhere else."""
    trimmed = url.strip(_TRIMMED).replace("\t", "").replace("\n", "").replace("\r", "")
    return _SCHEME_OR_ROOT.match(trimmed) is not None


def link_html(render: RenderState, target: str, options: Sequence[str], line: int) -> str:
    return link_markup(render, linked_note(render, target, line, "link"), target, options)


def internal_link_url(render: RenderState, href: str, line: int) -> str | None:
    """Where a Markdown link to a note (`Other%20note.md#Part`, unquoted) goes: that note's
    garden page; None when it reads as plain text (no site URL, or no such note: warned)."""
    return note_url(render, linked_note(render, href, line, "link"), href)


def shows_note(render: RenderState, page: str, *, wiki: bool) -> bool:
    """Whether an embed (`![[page]]`, or `![alt](page)` where not `wiki`) shows a note, as in
    Obsidian: a target not named like an image that is a note (`.md`), whatever else it is
    named like (`![[Podcast.mp3]]` may find `Podcast.mp3.md`); then only a note of this build
    is shown (`_note_embed`), never the file's text. A target found nowhere is a note in a
    wiki embed. (`parse._embeds_notes` tells the notes that may embed others by this rule.)"""
    if named_like_image(page) or REMOTE.match(page):
        return False
    found = (render.targets.resolve(page, render.note)
             if render.targets is not None and page else None)
    return found.suffix.lower() == ".md" if found is not None else wiki


def link_markup(render: RenderState, note: Note | None, target: str,
                 options: Sequence[str]) -> str:
    """A wiki-link reads as its alias, else as Obsidian shows it (`Note`, `Note > Heading`); it
    links to the target's garden page when a site URL is set, else it is plain text."""
    page, _, heading = target.partition("#")
    shown = "|".join(options) or " > ".join(
        p for p in (PurePosixPath(page).name if page else "", heading.split("#")[0].lstrip("^"))
        if p)
    text = escape.text(shown or target)
    url = note_url(render, note, target)
    return f'<a class="internal-link" href="{escape.attribute(url)}">{text}</a>' if url else text


def note_url(render: RenderState, note: Note | None, target: str) -> str | None:
    """The garden page a link to `Note#Heading` goes to; None without a site URL."""
    site_url = render.targets.site_url if render.targets else None
    if note is None or not site_url:
        return None
    heading = target.partition("#")[2].split("#")[0]
    return page_url(site_url, note.permalink, slugify(heading) or heading)


EmbedHtml = Callable[[str, "RenderState"], str]
"""How an embedded note's Markdown becomes the sanitised HTML of its box."""


def note_embed(render: RenderState, target: str, options: Sequence[str], line: int,
               to_html: EmbedHtml) -> tuple[str, bool]:
    """`![[Note]]`, `![[Note#Heading]]`, `![[Note#^block]]` as a box holding that content, and
    whether it is that box. One level deep: embeds inside an embed, an embed of the note into
    itself and embeds that do not resolve read as links."""
    note = linked_note(render, target, line, "embed")
    ref = target.partition("#")[2].split("#")[0]
    if note is None or render.depth > 0:
        return link_markup(render, note, target, options), False
    if note.rel == render.note and not ref:
        render.warn("embed-cycle", f"`![[{target}]]` embeds this note in itself; shown as a "
                    "link", line)
        return link_markup(render, note, target, options), False
    embed = _embed(render, note, ref, to_html)
    if not embed.found:
        render.warn("broken-link", f"embed of `{target}`: {note.rel} has no heading or block "
                    f"`{ref}`; the whole note is shown", line)
    render.media += embed.media
    shown = "|".join(options) or " › ".join(
        p for p in (note.title, "" if ref.startswith("^") else ref) if p)
    title = link_markup(render, note, target, [shown])
    return (f'<div class="ae-embed"><div class="ae-embed-title">{title}</div>\n{embed.html}'
            "</div>", True)


def _embed(render: RenderState, note: Note, ref: str, to_html: EmbedHtml) -> Embed:
    """The embed of `note`'s part `ref`, from the build's embeds when another card showed it
    already; the vault lookups its rendering made are recorded for this card too."""
    targets = render.targets
    assert targets is not None  # `note` was found through them
    embed = targets.embeds.get((note.rel, ref))
    if embed is None:
        markdown = embedded_markdown(note, ref)
        asking = targets.recording()
        nested = replace(render, note=note.rel, line=1, depth=render.depth + 1, targets=asking,
                         media=[], diagnostics=[], tags=[])  # its warnings and tags belong
        # to its own cards
        shown = markdown if markdown is not None else embedded_markdown(note, "") or ""
        html = to_html(shown, nested)
        embed = targets.embeds[note.rel, ref] = Embed(
            markdown is not None, html, tuple(nested.media), tuple(asking.lookups or ()))
    if targets.lookups is not None:
        targets.lookups.extend(embed.lookups)
    return embed


def linked_note(render: RenderState, target: str, line: int, what: str) -> Note | None:
    """The note a link or embed points at, if it is in this build; a warning if it is not."""
    if render.targets is None:
        return None
    page = target.partition("#")[0]
    rel = render.targets.resolve(page, render.note) if page else render.note
    if rel is None:
        render.warn("broken-link", f"{what} to `{target}`: no such note in the vault; the card "
                    "shows plain text", line)
        return None
    note = render.targets.note(rel)
    if note is None and rel.suffix.lower() == ".md":
        render.warn("broken-link", f"{what} to `{target}`: {rel} is not in this build (no "
                    "`dg-publish: true`?); the card shows plain text", line)
    return note


def page_url(site_url: str, permalink: str, anchor: str = "") -> str:
    """The garden page of a permalink, with the heading anchor the garden gives (`headerToId`),
    percent-encoded: a `dg-permalink` keeps spaces and case as written."""
    url = site_url.rstrip("/") + quote(permalink, safe="/%")
    return f"{url}#{quote(anchor, safe='%')}" if anchor else url


def image_label(parts: Sequence[str]) -> tuple[str, str, str]:
    """Alt text, width and height from `name|alt|300` or `alt|300x200`: the last part sizes the
    image when it is a number (Obsidian, and the garden's image rule)."""
    *alt, last = parts or [""]
    size = SIZE.fullmatch(last.strip())
    if size is None:
        return "|".join([*alt, last]).strip(), "", ""
    return "|".join(alt).strip(), size.group(1), size.group(2) or ""


def image_html(render: RenderState, target: str, alt: str, width: str, height: str,
               line: int) -> str:
    """An image as the card shows it: a vault file as `<img>` (and listed as media), a remote
    one as a link (loading it would tell its host who studies when; a web link only), else a
    visible placeholder and a warning."""
    if REMOTE.match(target):
        href = f' href="{escape.attribute(target)}"' if SAFE_URL.match(target) else ""
        return f'<a class="ae-remote-image"{href}>{escape.text(alt or "image")}</a>'
    rel = _image_file(render, target, line)
    if isinstance(rel, str) or render.targets is None:
        return f'<span class="ae-missing">{rel}: {escape.text(target)}</span>'
    render.media.append(rel)
    src = escape.attribute(render.targets.media_src(rel))
    dims = "".join(f' {k}="{escape.attribute(v)}"'
                   for k, v in (("width", width), ("height", height)) if v)
    return f'<img src="{src}" alt="{escape.attribute(alt)}"{dims}>'


def _image_file(render: RenderState, target: str, line: int) -> PurePosixPath | str:
    """The vault file an image names, else why there is none (for the placeholder). A garden
    repository's published image (`/img/user/<vault path>`) is its file in `src/site/img/user/`,
    which the vault index holds beside the notes (`vault.GARDEN_IMAGES`)."""
    wanted = target
    if target.startswith(GARDEN_IMAGE_URL):
        wanted = GARDEN_IMAGES + target.removeprefix(GARDEN_IMAGE_URL)
    else:
        inside = posixpath.normpath(posixpath.join(render.note.parent.as_posix(), target))
        if loads_elsewhere(target) or inside == ".." or inside.startswith("../"):
            render.warn("outside-vault", f"image `{_one_line(target)}` is outside the vault; "
                        "only files inside it go into the package", line)
            return "image outside the vault"
    rel = render.targets.resolve(wanted, render.note) if render.targets else None
    if rel is None:
        render.warn("missing-image", f"image `{_one_line(target)}` not found in the vault", line)
        return "missing image"
    if not named_like_image(rel.name):  # `<img src="Private.md">`, `![[a.pdf]]`
        render.warn("not-an-image", f"`{target}` ({rel}) is not an image: cards show images "
                    "only, and no other file goes into the package", line)
        return "not an image"
    return rel


def _one_line(text: str) -> str:
    """`text` for a message of one line: a raw `<img src>` may hold newlines and tabs."""
    return _CONTROLS.sub(lambda control: repr(control.group())[1:-1], text)


_CONTROLS = re.compile("[\x00-\x1f\x7f]")


def image_src(render: RenderState, src: str, line: int) -> str | None:
    """The `src` that a raw `<img src=…>` of the note gets on the card: the vault image it names
    (found as a Markdown image's target is, and listed as media) by its name in the package;
    None, with a warning, for anything else, so that nothing but a packaged file ever loads."""
    rel = _image_file(render, unquote(src), line)
    if isinstance(rel, str) or render.targets is None:
        return None
    render.media.append(rel)
    return render.targets.media_src(rel)
