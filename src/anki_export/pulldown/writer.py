"""Card HTML from pulldown-cmark's events, written the way the garden's markdown-it writes it
(`renderToken`'s newlines included), so that cards kept their bytes when this writer replaced
markdown-it; escaped the way nh3 escapes (see `escape`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..escape import attribute
from ..escape import text as text_html
from ..obsidian.callouts import CALLOUT
from ..obsidian.code import HIGHLIGHTED, highlight_code, partly_highlighted
from ..obsidian.links import (
    REMOTE,
    SAFE_URL,
    WIKILINK,
    image_html,
    image_label,
    internal_link_url,
    link_html,
    note_embed,
    shows_note,
)
from ..obsidian.math import MATH_BLANK, display_math
from ..obsidian.text import TAG
from .marks import MARK_OPEN, tag_name
from .urls import link_text, link_url

if TYPE_CHECKING:
    from ..render import RenderState

__all__ = ["SAFE_URL", "Lines", "Writer"]

_ALIGN = {"Left": ' style="text-align:left"', "Center": ' style="text-align:center"',
          "Right": ' style="text-align:right"', "None": ""}
_SIMPLE_INLINE = {"Emphasis": "em", "Strong": "strong", "Strikethrough": "s"}
_CLOSINGS = {**{name: f"</{element}>" for name, element in _SIMPLE_INLINE.items()},
             "Paragraph": "</p>\n", "TableHead": "</tr>\n</thead>\n", "TableRow": "</tr>\n"}
"""The end tags that are all an end event writes (`Writer.document`)."""


class Writer:
    """Writes HTML the way markdown-it's renderer does (`renderToken`'s newlines included)."""

    def __init__(self, events: list[Any], state: RenderState, lines: Lines,
                 notes: Footnotes | None = None) -> None:
        self.events = events
        self.state = state
        self.lines = lines
        self.out: list[str] = []
        self.i = 0
        self.loose_text = False  # inline content written straight into a tight list item
        self.space_before = True  # the source character before the next text is a space
        self.table: Sequence[str] = ()
        self.cell = 0
        self.in_head = False
        self.quotes: list[str | None] = []  # per open blockquote: the callout's tag, or None
        self.foreign = False  # holds HTML not written here, which still needs the sanitiser
        self.lists: list[int] = []  # where each open list's and item's opening tag is in `out`
        self.items: list[int] = []
        self.notes = notes if notes is not None else Footnotes()
        self.paragraph_at = 0  # where the open paragraph's `<p>` is in `out`
        self.item_run: int | None = None  # where a tight item's text after a note embed
        # starts in `out` (`lift`), until it ends

    def document(self) -> str:
        """The section's HTML (or an inline run's, for link texts and callout titles).

        The commonest events (text, the ends of paragraphs) are written here, not by a handler:
        this loop runs for every event of every section, and a call costs more than the work."""
        events, out = self.events, self.out
        count = len(events)
        while self.i < count:
            event = events[self.i]
            self.i += 1
            if event.__class__ is str:
                self.bare(event)
                continue
            text = event.get("Text")
            if text is not None:
                if not self.loose_text and out and out[-1] == "<li>":  # `inline_started`
                    self.loose_text = True
                if "#" in text:
                    self.text(text)
                else:
                    out.append(text_html(text))
                    self.space_before = text[-1:].isspace()
                continue
            opening = event.get("Start")
            if opening is not None:
                self.start(opening)
                continue
            closing = event.get("End")
            if closing is not None:
                html = _CLOSINGS.get(closing) if closing.__class__ is str else None
                if html is None:
                    self.end(closing)
                else:
                    out.append(html)
                    if closing in _SIMPLE_INLINE:
                        self.space_before = False
                continue
            self.inline_value(event)
        return "".join(out)

    def inline_value(self, event: dict[str, Any]) -> None:
        """An inline event that carries its text: code or math."""
        (kind, value), = event.items()
        self.inline_started()
        if kind == "Code":
            self.out.append(f"<code>{text_html(value)}</code>")
        elif kind == "InlineHtml":
            self.out.append(value)
            self.foreign = True
        elif kind == "TaskListMarker":
            self.task(checked=value)
        elif kind == "FootnoteReference":
            self.out.append(self.notes.reference(value))
        elif kind == "InlineFootnote":
            self.state.tags += self.tags_in(value)
            self.out.append(self.notes.inline(value))
        elif kind == "InlineMath":
            self.out.append(f"\\({text_html(value)}\\)")
        elif kind == "DisplayMath" and value.strip():
            self.display_math(value.replace(MATH_BLANK, ""))
        elif kind == "DisplayMath":
            self.out.append(f"$${text_html(value)}$$")  # holding nothing: text
        else:  # `Html`: raw HTML where pulldown-cmark found no block of it
            self.out.append(value)
            self.foreign = True
        self.space_before = kind == "TaskListMarker"  # a box is followed by a space

    def display_math(self, tex: str) -> None:
        """`$$…$$` inside a paragraph: a block of its own where it stands on lines of its own
        (right below or above a line of text, as Obsidian shows it), lifted out of the paragraph or
        list item like a note embed; else inside the line (`text $$x$$ text`)."""
        before = self.events[self.i - 2] if self.i > 1 else None
        after = self.events[self.i] if self.i < len(self.events) else None
        alone = before in ("SoftBreak", "HardBreak", {"Start": "Paragraph"}) and (
            after in ("SoftBreak", "HardBreak") or (after.__class__ is dict and "End" in after))
        if not (alone and self.lifted(display_math(tex, inline=False).removesuffix("\n"))):
            self.out.append(display_math(tex, inline=True))

    def task(self, *, checked: bool) -> None:
        """A task list item's checkbox, marked as markdown-it's tasklists plugin marks it: with
        the space after it, unless nothing follows (a block id was all the item's text)."""
        self.out.append(_CHECKED if checked else _UNCHECKED)
        following = self.events[self.i] if self.i < len(self.events) else None
        if not (following.__class__ is dict and "End" in following):
            self.out.append(" ")  # apart: a note embed after the box trims it (`lift`)
        self.out[self.items[-1]] = self.out[self.items[-1]].replace(
            "<li>", '<li class="task-list-item">', 1)
        if "class" not in self.out[self.lists[-1]]:
            self.out[self.lists[-1]] = self.out[self.lists[-1]].replace(
                ">\n", ' class="contains-task-list">\n', 1)

    def html_block(self, _: object) -> None:
        """Raw HTML as written: the sanitiser decides what of it reaches the card."""
        while self.events[self.i] != {"End": "HtmlBlock"}:
            self.out.append(next(iter(self.events[self.i].values())))  # `Html`; `Text`: indent
            self.i += 1
        self.i += 1
        self.foreign = True

    def footnote_definition(self, label: str) -> None:
        """A footnote's text, kept for the list of footnotes below the section (of two with
        one label, the last, as in markdown-it)."""
        start = self.i
        while self.events[self.i] != {"End": "FootnoteDefinition"}:
            self.i += 1
        self.notes.defined[label] = self.events[start : self.i]
        self.state.tags += self.tags_in(self.events[start : self.i])
        self.i += 1

    def tags_in(self, events: list[Any]) -> list[str]:
        """The tags of a footnote, where it stands: markdown-it collects them while parsing,
        in the order of the source, also from a footnote never referred to."""
        scratch = type(self.state)(self.state.note, self.state.line)
        Writer(events, scratch, self.lines).document()
        return scratch.tags

    def footnotes(self) -> str:
        """The footnotes referenced, in the order of their first reference, as markdown-it's
        footnote plugin lists them (without the back-references: anchors would clash between
        a card's fields)."""
        if not self.notes.order:
            return ""
        items = []
        for label in self.notes.order:  # grows while footnotes refer to further ones
            if isinstance(label, str):
                body = self.written(self.notes.defined.get(label, []))
            else:
                body = f"<p>{self.written(label)}</p>\n"
            items.append(f'<li class="footnote-item">{body}</li>\n')
        return ('<hr class="footnotes-sep">\n<section class="footnotes">\n'
                f'<ol class="footnotes-list">\n{"".join(items)}</ol>\n</section>\n')

    def written(self, events: list[Any], *, space_before: bool = True) -> str:
        """The HTML of part of this section's events (a link's text, a callout's title, a
        footnote), numbering footnotes on."""
        writer = Writer(events, self.state, self.lines, self.notes)
        writer.space_before = space_before
        html = writer.document()
        self.foreign = self.foreign or writer.foreign
        return html
    def bare(self, event: str) -> None:
        if event in ("SoftBreak", "HardBreak"):
            self.out.append("<br>\n")
            self.space_before = True
        elif event == "Rule":
            self.block_started()
            self.out.append("<hr>\n")
        else:
            self.inline_started()
            self.out.append("<mark>" if event == MARK_OPEN else "</mark>")
            self.space_before = False

    def inline_started(self) -> None:
        if not self.loose_text and self.out and self.out[-1] == "<li>":
            self.loose_text = True

    def block_started(self) -> None:
        """markdown-it puts a newline between a tight item's text and a block after it."""
        if self.loose_text:
            self.out.append("\n")
            self.loose_text = False

    def text(self, text: str) -> None:
        if "#" not in text:
            self.out.append(text_html(text))
        else:
            self.out += self.tags(text)
        self.space_before = text[-1:].isspace()

    def tags(self, text: str) -> list[str]:
        """Inline `#tags`, as Obsidian reads them (`obsidian.text.TAG`): the text around each a
        piece of its own, as markdown-it's tokens are (see `lift`)."""
        parts: list[str] = []
        pos = 0
        for match in self.tag_matches(text):
            parts.append(text_html(text[pos : match.start()]))
            parts.append(f'<span class="ae-tag">#{text_html(match.group(1))}</span>')
            pos = match.end()
        parts.append(text_html(text[pos:]))
        return parts

    def tag_matches(self, text: str) -> Iterator[re.Match[str]]:
        """The `#tags` of a text (after a space, or at its start after one: `space_before`),
        each put in the state's tags as it is found."""
        hash_at = text.find("#")
        while hash_at >= 0:
            before = text[hash_at - 1] if hash_at else (" " if self.space_before else "x")
            match = TAG.match(text, hash_at) if before.isspace() else None
            if match is None or not any(c.isalpha() for c in match.group(1)):
                hash_at = text.find("#", hash_at + 1)
                continue
            self.state.tags.append(match.group(1).replace("/", "::"))
            yield match
            hash_at = text.find("#", match.end())

    # -- blocks and inline elements

    def start(self, tag: Any) -> None:
        simple = tag.__class__ is str  # `"Item"`, or `{"List": 1}` with a value (`tag_name`,
        element = _SIMPLE_INLINE.get(tag) if simple else None  # inlined here and in `end`)
        if element is not None:
            self.inline_started()
            self.out.append(f"<{element}>")
            self.space_before = False
            return
        name = tag if simple else next(iter(tag))
        handler = _STARTS.get(name)
        if handler is None:
            return  # an element no option of `pulldown._OPTIONS` makes: its content only
        if self.item_run is not None and name not in ("Link", "Image"):
            self.end_item_run()
        if name in _NOT_NEW_BLOCKS:
            self.inline_started()
        elif self.loose_text:  # `block_started` asks too: a call saved for most blocks
            self.block_started()
        handler(self, tag if simple else tag[name])

    def end(self, tag: Any) -> None:
        simple = tag.__class__ is str
        name = tag if simple else next(iter(tag))
        handler = _ENDS.get(name)
        if handler is not None:
            handler(self, tag if simple else tag[name])

    def start_item(self, _: object) -> None:
        following = self.events[self.i] if self.i < len(self.events) else None
        self.items.append(len(self.out))
        self.out.append("<li>" if self.inline_next(following) else "<li>\n")
        self.space_before = True

    def end_item(self, _: object) -> None:
        if self.item_run is not None:
            self.end_item_run()
        self.loose_text = False
        self.items.pop()
        self.out.append("</li>\n")

    def end_list(self, ordered: bool) -> None:
        self.lists.pop()
        self.out.append("</ol>\n" if ordered else "</ul>\n")

    def start_list(self, first: int | None) -> None:
        self.lists.append(len(self.out))
        self.out.append("<ul>\n" if first is None else
                        "<ol>\n" if first == 1 else f'<ol start="{first}">\n')

    def start_heading(self, heading: Any) -> None:
        self.out.append(f"<h{heading['level'][1]}>")
        self.space_before = True

    def start_table(self, alignments: Sequence[str]) -> None:
        self.table = alignments
        self.out.append("<table>\n")

    def end_table(self, _: object) -> None:
        self.out.append("</tbody>\n</table>\n" if not self.in_head else "</table>\n")
        self.in_head = False

    def start_table_head(self, _: object) -> None:
        self.in_head, self.cell = True, 0
        self.out.append("<thead>\n<tr>\n")

    def start_table_row(self, _: object) -> None:
        if self.in_head:
            self.in_head = False
            self.out.append("<tbody>\n")
        self.cell = 0
        self.out.append("<tr>\n")

    def start_table_cell(self, _: object) -> None:
        cell = "th" if self.in_head else "td"
        align = _ALIGN[self.table[self.cell]] if self.cell < len(self.table) else ""
        self.out.append(f"<{cell}{align}>")
        self.space_before = True

    def end_table_cell(self, _: object) -> None:
        self.out.append("</th>\n" if self.in_head else "</td>\n")
        self.cell += 1

    @staticmethod
    def inline_next(event: Any) -> bool:
        """Whether a list item's first event is inline text (a tight item) or its end."""
        if event.__class__ is dict and "Text" in event:  # the commonest: a tight item's text
            return True
        if isinstance(event, str):
            return event != "Rule"
        (kind, value), = event.items()
        if kind in ("Start", "End"):
            name = tag_name(value)
            return name == "Item" or name in _SIMPLE_INLINE or name in ("Link", "Image")
        return True  # code, math, HTML, a footnote

    def paragraph(self, _: object = None) -> None:
        """`<p>`, or a display-math block where `$$…$$` is all the paragraph holds."""
        events, i = self.events, self.i
        if (i + 1 < len(events) and isinstance(events[i], dict)
                and events[i].get("DisplayMath", " ").strip()
                and events[i + 1] == {"End": "Paragraph"}):
            tex = events[i]["DisplayMath"].replace(MATH_BLANK, "")  # `math_blanks_filled`
            self.out.append(display_math(tex, inline=False))
            self.i += 2
            return
        self.out.append("<p>")
        self.paragraph_at = len(self.out) - 1
        self.space_before = True

    def end_lifted(self, _: object) -> None:
        """The end of a paragraph a note embed was lifted out of: its last run, if any."""
        run = _trimmed_run(self.out[self.paragraph_at + 1 :])
        del self.out[self.paragraph_at + 1 :]
        if run:
            self.out += [*run, "</p>\n"]
        else:
            self.out[self.paragraph_at] = self.out[self.paragraph_at].removesuffix("<p>")

    def blockquote(self, _: object = None) -> None:
        """A blockquote, or a callout (see `obsidian.callouts`) when its first line is
        `[!type|meta]±? Title`."""
        events, i = self.events, self.i
        first = events[i + 1] if i + 1 < len(events) and events[i] == {"Start": "Paragraph"} \
            else None
        text = first.get("Text") if isinstance(first, dict) else None
        marker = _CALLOUT_MARKER.match(text) if text else None
        if marker is None or text is None:
            self.quotes.append(None)
            self.out.append("<blockquote>" if self._next_is_quote_end() else "<blockquote>\n")
            return
        kind, meta, fold = marker.group(1).lower(), (marker.group(2) or "").strip(), marker.group(3)
        title_end = next((k for k in range(i + 1, len(events))
                          if events[k] in ("SoftBreak", "HardBreak", {"End": "Paragraph"})),
                         len(events))
        title_events = [{"Text": text[marker.end():]}, *events[i + 2 : title_end]]
        if title_end + 1 < len(events) and events[title_end] in ("SoftBreak", "HardBreak"):
            rest_events: list[Any] = [{"Start": "Paragraph"}]
            self.i = title_end + 1  # the paragraph goes on below the title
        else:
            rest_events = []
            self.i = title_end + 1  # past the paragraph's end
        tag = "details" if fold else "div"
        attrs = f' class="callout" data-callout="{attribute(kind)}"'
        if meta:
            attrs += f' data-callout-metadata="{attribute(meta)}"'
        if fold == "+":
            attrs += ' open=""'
        title_tag = "summary" if fold else "div"
        self.out.append(f'<{tag}{attrs}>\n<{title_tag} class="callout-title">')
        title = self.written(self._trimmed(title_events))
        self.out.append(title or text_html(kind.capitalize()))
        self.out.append(f"</{title_tag}>\n")
        self.quotes.append(tag)
        if rest_events:
            self.out.append('<div class="callout-content">\n<p>')
            self.paragraph_at = len(self.out) - 1
            self.space_before = True
        elif self._next_is_quote_end():
            self.quotes[-1] = tag + "/"  # a title-only callout: no content box
        else:
            self.out.append('<div class="callout-content">\n')

    def _next_is_quote_end(self) -> bool:
        following = self.events[self.i] if self.i < len(self.events) else None
        return isinstance(following, dict) and tag_name(following.get("End", "")) == \
            "BlockQuote"

    @staticmethod
    def _trimmed(events: list[Any]) -> list[Any]:
        """The title's events with the space around it trimmed, as `str.strip` trims the
        title in the markdown-it path; an empty title falls back to the type."""
        events = [e for e in events if e != {"Text": ""}]
        if events and isinstance(events[0], dict) and "Text" in events[0]:
            events[0] = {"Text": events[0]["Text"].lstrip()}
        if events and isinstance(events[-1], dict) and "Text" in events[-1]:
            events[-1] = {"Text": events[-1]["Text"].rstrip()}
        return [e for e in events if e != {"Text": ""}]

    def close_quote(self, _: object = None) -> None:
        tag = self.quotes.pop()
        if tag is None:
            self.out.append("</blockquote>\n")
        elif tag.endswith("/"):
            self.out.append(f"</{tag[:-1]}>\n")
        else:
            self.out.append(f"</div>\n</{tag}>\n")

    def code_block(self, kind: Any) -> None:
        code: list[str] = []
        while not (isinstance(self.events[self.i], dict) and "End" in self.events[self.i]):
            code.append(self.events[self.i]["Text"])
            self.i += 1
        self.i += 1
        content = "".join(code)
        if kind == "Indented":
            self.out.append(f"<pre><code>{text_html(content)}</code></pre>\n")
            return
        info = kind["Fenced"].strip()
        lang = info.split()[0] if info else ""
        if not lang:
            self.out.append(f"<pre><code>{text_html(content)}</code></pre>\n")
            return
        if partly_highlighted(content, lang):
            self.state.warn("code-too-long", f"a code block of {len(content):,} characters: "
                            f"the first {HIGHLIGHTED:,} are highlighted, the rest shown as "
                            "plain text; split it, or link to the file",
                            self.lines.at(kind["at"]))
        highlighted = highlight_code(content, lang)
        self.foreign = self.foreign or bool(highlighted)  # Pygments escapes its own way
        highlighted = highlighted or text_html(content)
        self.out.append(f'<pre><code class="language-{attribute(lang)}">{highlighted}'
                        "</code></pre>\n")

    def link_text(self) -> list[Any]:
        """The events inside a link or image, the index moved past its end."""
        depth, start = 0, self.i
        while True:
            event = self.events[self.i]
            self.i += 1
            if isinstance(event, dict):
                if "Start" in event:
                    depth += 1
                elif "End" in event:
                    if depth == 0:
                        return self.events[start : self.i - 1]
                    depth -= 1

    def link(self, link: Any) -> None:
        kind = link["link_type"]
        if isinstance(kind, dict):  # a wiki-link
            target, options = self.wiki_parts(link)
            self.out.append(link_html(self.state, target, options, self.lines.at(link["at"])))
            self.space_before = False
            return
        if kind in ("Autolink", "Email"):
            self.autolink(link["dest_url"], email=kind == "Email")
            return
        href = unquote(link["dest_url"])
        opening = ""
        title = f' title="{attribute(link["title"])}"' if link["title"] else ""
        if REMOTE.match(href) and not SAFE_URL.match(link["dest_url"]):
            opening = f"<a{title}>"  # `javascript:` and the like (also once unquoted): no link
        elif REMOTE.match(href):
            opening = f'<a href="{attribute(link_url(link["dest_url"]))}"{title}>'
        else:
            url = internal_link_url(self.state, href, self.lines.at(link["at"]))
            if url is not None:
                opening = f'<a class="internal-link" href="{attribute(url)}">'
        self.out.append(opening)
        self.space_before = False
        inner = self.link_text()
        self.out.append(self.written(inner, space_before=self.space_before))
        self.out.append("</a>" if opening else "")
        self.space_before = False

    def autolink(self, url: str, *, email: bool) -> None:
        """`<https://…>` and `<a@b.org>` as markdown-it writes them (see `urls`), without `href`
        where the sanitiser drops it."""
        self.link_text()
        href = f"mailto:{url}" if email else url
        opening = f'<a href="{attribute(link_url(href))}">' if SAFE_URL.match(href) else "<a>"
        self.inline_started()
        self.out.append(f"{opening}{text_html(link_text(url))}</a>")
        self.space_before = False

    def wiki_parts(self, link: Any) -> tuple[str, list[str]]:
        """Target and `|` options of a wiki-link, as `obsidian.links` splits them."""
        inner = self.link_text()
        if not all(isinstance(e, dict) and "Text" in e for e in inner):
            # Markdown in an alias: shown as typed, the link read off its source as markdown-it
            # reads it
            match = WIKILINK.fullmatch(self.lines.source(link["at"], link["end"]))
            if match is None:
                return link["dest_url"].strip(), []
            target, *options = match.group(1).replace("\\|", "|").split("|")
            return target.strip(), [o.strip() for o in options]
        target = link["dest_url"].removesuffix("\\").strip()
        has_alias = link["link_type"]["WikiLink"]["has_pothole"]
        alias = "".join(e["Text"] for e in inner)
        return target, [o.strip() for o in alias.split("|")] if has_alias else []

    def image(self, image: Any) -> None:
        if isinstance(image["link_type"], dict):
            target, options = self.wiki_parts(image)
            page = target.partition("#")[0]
            if shows_note(self.state, page, wiki=True):
                self.note_embed(target, options, image["at"])
                return
            self.out.append(image_html(self.state, page, *image_label(options),
                                       self.lines.at(image["at"])))
            self.space_before = False
            return
        label = self.image_label(self.link_text())
        src = unquote(image["dest_url"])
        if shows_note(self.state, src.partition("#")[0], wiki=False):
            self.note_embed(src, [], image["at"])  # `![x](Note.md)`
            return
        self.out.append(image_html(self.state, src, *image_label(label.split("|")),
                                   self.lines.at(image["at"])))
        self.space_before = False

    def image_label(self, inner: list[Any]) -> str:
        """An image's label as markdown-it's alt text: the text of its parts (a code span's
        code, a tag's name, which counts as a tag), without their Markdown."""
        parts: list[str] = []
        self.space_before = True
        for event in inner:
            if event in ("SoftBreak", "HardBreak"):
                self.space_before = True
                continue
            if not isinstance(event, dict):
                continue  # a highlight's marks
            (kind, value), = event.items()
            if kind == "Text":
                pos = 0
                for match in self.tag_matches(value):
                    parts += (value[pos : match.start()], match.group(1))
                    pos = match.end()
                parts.append(value[pos:])
                self.space_before = value[-1:].isspace()
                continue
            if kind not in ("Start", "End"):
                parts.append(value if isinstance(value, str) else "")  # code, math, HTML
            self.space_before = False
        return "".join(parts)

    def note_embed(self, target: str, options: list[str], at: int) -> None:
        """A note embed: its box, lifted out of the paragraph holding it as markdown-it's
        `_lift_embeds` lifted it (the HTML parser would tear a `<div>` inside a `<p>` apart);
        inline in a heading or table cell; a link where it shows no box."""
        from ..render import embedded_html  # here: render imports this package

        html, box = note_embed(self.state, target, options, self.lines.at(at), embedded_html)
        self.space_before = False
        if not box:
            self.out.append(html)
            return
        self.foreign = True  # sanitised already, but not written in nh3's form here
        if not self.lifted(html):
            self.out.append(html)

    def lifted(self, html: str) -> bool:
        """Whether the block `html` could be lifted out of the paragraph or list item it is in
        (`lift`); not in a heading or table cell."""
        container = self.container()
        if container == "Paragraph":
            self.lift(html, self.paragraph_at)
        elif container == "Item":
            self.lift(html, self.items[-1] if self.item_run is None else self.item_run - 1)
        return container in ("Paragraph", "Item")

    def container(self) -> str | None:
        """The block the current inline content is in (the innermost unclosed one)."""
        depth = 0
        for event in reversed(self.events[: self.i]):
            if event.__class__ is not dict:
                continue
            if "End" in event:
                depth += 1
            elif "Start" in event:
                name = tag_name(event["Start"])
                if depth == 0 and name not in _LIFTED_THROUGH:
                    return name
                depth -= depth > 0
        return None

    def lift(self, html: str, opening: int) -> None:
        """Close the run of inline content since `out[opening]` (a `<p>`; a tight item's
        `<li>`, whose paragraph markdown-it hides; or a box lifted before it) before the box,
        trimmed of blank ends, and open the next one after it."""
        run = _trimmed_run(self.out[opening + 1 :])
        del self.out[opening + 1 :]
        paragraph = self.out[opening].endswith("<p>")
        if run:
            self.out += run
            self.out.append("</p>\n" if paragraph else "")
        elif paragraph:
            self.out[opening] = self.out[opening].removesuffix("<p>")
        elif self.out[opening].startswith("<li"):
            self.out[opening] += "\n"  # `<li>` before a block
        self.out.append(html + "\n")
        if not paragraph:
            self.loose_text = False
            self.item_run = len(self.out)
            return
        self.out.append("<p>")
        self.paragraph_at = len(self.out) - 1
        closing = next(k for k in range(self.i, len(self.events))
                       if self.events[k] in ({"End": "Paragraph"}, {"End": _LIFTED}))
        self.events[closing] = {"End": _LIFTED}

    def end_item_run(self) -> None:
        """The end of a tight item's text after a note embed: trimmed, like the run before;
        where it holds anything, a block after it starts on a new line (`block_started`)."""
        assert self.item_run is not None
        run = _trimmed_run(self.out[self.item_run :])
        del self.out[self.item_run :]
        self.out += run
        self.loose_text = bool(run)
        self.item_run = None


def _trimmed_run(run: list[str]) -> list[str]:
    """Inline HTML without the line breaks and blank text at its ends (markdown-it's
    `_blank` tokens)."""
    start, end = 0, len(run)
    while start < end and _blank(run[start]):
        start += 1
    while end > start and _blank(run[end - 1]):
        end -= 1
    return run[start:end]


def _blank(piece: str) -> bool:
    return not piece.replace("&nbsp;", " ").strip() or piece == "<br>\n"


_LIFTED = "LiftedParagraph"
"""A paragraph's end after a note embed lifted out of it (`Writer.lift`)."""
_LIFTED_THROUGH = frozenset({"Emphasis", "Strong", "Strikethrough", "Link"})


class Lines:
    """The line (0-based) of a byte offset in the section's source, for warnings; the line
    starts are found once, when the first warning asks."""

    def __init__(self, markdown: str) -> None:
        self.markdown = markdown
        self.starts: list[int] | None = None

    def source(self, start: int, end: int) -> str:
        """The source between two byte offsets."""
        return self.markdown.encode()[start:end].decode()

    def at(self, offset: int) -> int:
        if self.starts is None:
            self.starts = [m.end() for m in re.finditer(b"\n", self.markdown.encode())]
        return bisect_right(self.starts, offset)


_UNCHECKED = '<input class="task-list-item-checkbox" disabled="disabled" type="checkbox">'
_CHECKED = ('<input class="task-list-item-checkbox" checked="checked" disabled="disabled" '
            'type="checkbox">')


class Footnotes:
    """The footnotes of one section: definitions by label, and the footnotes in the order of
    their first reference (a label, or an inline footnote's events), shared by the writers of
    its parts so that they number on."""

    def __init__(self) -> None:
        self.defined: dict[str, list[Any]] = {}
        self.order: list[str | list[Any]] = []
        self.counts: dict[str, int] = {}

    def reference(self, label: str) -> str:
        """`[n]`, or `[n:k]` for the k-th further reference to one footnote (markdown-it's)."""
        if label not in self.counts:
            self.counts[label] = 0
            self.order.append(label)
        count = self.counts[label]
        self.counts[label] += 1
        number = self.order.index(label) + 1
        caption = f"{number}:{count}" if count else f"{number}"
        return f'<sup class="footnote-ref">[{caption}]</sup>'

    def inline(self, events: list[Any]) -> str:
        self.order.append(events)
        return f'<sup class="footnote-ref">[{len(self.order)}]</sup>'


_CALLOUT_MARKER = re.compile(CALLOUT.pattern.removesuffix(r"[ \t]*(.*)") + r"[ \t]*")


_STARTS: dict[str, Callable[[Writer, Any], None]] = {
    "Paragraph": Writer.paragraph, "Item": Writer.start_item, "List": Writer.start_list,
    "Heading": Writer.start_heading, "BlockQuote": Writer.blockquote,
    "CodeBlock": Writer.code_block, "Table": Writer.start_table,
    "TableHead": Writer.start_table_head, "TableRow": Writer.start_table_row,
    "TableCell": Writer.start_table_cell, "Link": Writer.link, "Image": Writer.image,
    "HtmlBlock": Writer.html_block, "FootnoteDefinition": Writer.footnote_definition,
}
_NOT_NEW_BLOCKS = frozenset({"Link", "Image", "TableHead", "TableRow", "TableCell",
                             "HtmlBlock"})
"""Elements that take no newline after a tight list item's text (see `block_started`): raw
HTML is written as it stands, markdown-it's renderer adds nothing before it either."""
_ENDS: dict[str, Callable[[Writer, Any], None]] = {
    "Item": Writer.end_item,
    "List": Writer.end_list,
    "Heading": lambda writer, level: writer.out.append(f"</h{level[1]}>\n"),
    "BlockQuote": Writer.close_quote, "Table": Writer.end_table, _LIFTED: Writer.end_lifted,
    "TableCell": Writer.end_table_cell,
}
