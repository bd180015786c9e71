"""Passes over pulldown-cmark's events for the Obsidian syntax it does not read: `==highlights==`
(paired the way markdown-it-mark pairs them in the source, as `MARK_OPEN` and `MARK_CLOSE`
events), inline footnotes `^[…]`, block ids ` ^id` and Dataview's `(key:: value)` fields.
"""

from __future__ import annotations

from typing import Any

from ..obsidian.text import BLOCK_ID, FIELD_OPEN

__all__ = ["MARK_CLOSE", "MARK_OPEN", "inline_footnotes", "tag_name", "with_marks",
           "without_block_ids", "without_field_keys"]


MARK_OPEN = "MarkOpen"
MARK_CLOSE = "MarkClose"
_BLOCK_ENDS = frozenset({"Paragraph", "Heading", "TableCell", "Item", "CodeBlock",
                         "BlockQuote", "List"})


def with_marks(events: list[Any]) -> list[Any]:
    """`==text==` as Obsidian reads it: an opener not next to another `=` nor followed by a
    space, closed by the first `==` after it not preceded by a space, in text of the same
    element (not in code, math, or another link or emphasis)."""
    out: list[Any] = []
    in_code = False
    i = 0
    while i < len(events):
        event = events[i]
        if isinstance(event, dict) and ("Start" in event or "End" in event):
            if tag_name(event.get("Start", "")) == "CodeBlock":
                in_code = True  # no highlights in code
            elif event.get("End") == "CodeBlock":
                in_code = False
        text = event.get("Text") if isinstance(event, dict) and not in_code else None
        start = _opener(text, events, i) if text and "==" in text else -1
        close = _closer(events, i, start + 3) if text and start >= 0 else None
        if text is None or close is None:
            out.append(event)
            i += 1
            continue
        j, pos = close
        out += [{"Text": text[:start]}, MARK_OPEN]
        if j == i:
            out += [{"Text": text[start + 2 : pos]}, MARK_CLOSE]
        else:
            out += [{"Text": text[start + 2 :]}, *events[i + 1 : j],
                    {"Text": events[j]["Text"][:pos]}, MARK_CLOSE]
        rest = events[j]["Text"][pos + 2 :]
        events[j] = {"Text": rest}
        i = j if rest else j + 1
    return [e for e in out if e != {"Text": ""}]


def _opener(text: str, events: list[Any], i: int) -> int:
    """The first position in `text` where markdown-it-mark opens a highlight, or -1."""
    pos = text.find("==")
    while pos >= 0:
        before = text[pos - 1] if pos else ""
        after = text[pos + 2 : pos + 3]
        if before != "=" and after != "=":
            if after and not after.isspace():
                return pos
            if not after and not _next_is_space(events, i):
                return pos
        pos = text.find("==", pos + 1)
    return -1


def _next_is_space(events: list[Any], i: int) -> bool:
    """Whether the source character after event `i`'s text is a space or the end of the
    inline content (markdown-it's `src[start + 2].isspace()` or `start + 2 >= end`)."""
    following = events[i + 1] if i + 1 < len(events) else None
    if following in ("SoftBreak", "HardBreak") or following is None:
        return True
    return isinstance(following, dict) and "End" in following and tag_name(
        following["End"]) in _BLOCK_ENDS


def _closer(events: list[Any], i: int, first: int) -> tuple[int, int] | None:
    """(event index, position) of the `==` closing a highlight opened in event `i` whose
    text may close from `first` on; None when there is none (the `==` stays text)."""
    depth, pos = 0, first
    for j in range(i, len(events)):
        event = events[j]
        if event.__class__ is str:  # a line break
            pos = 0
            continue
        (kind, value), = event.items()
        if kind == "Text":
            found = _closing_in(value, pos, events, j) if depth == 0 else -1
            if found >= 0:
                return j, found
        elif kind in ("Start", "End"):
            depth += 1 if kind == "Start" else -1
            if depth < 0 or tag_name(value) in _BLOCK_ENDS:
                return None
        pos = 0
    return None


def _closing_in(text: str, pos: int, events: list[Any], j: int) -> int:
    close = text.find("==", pos)
    while close >= 0:
        before = text[close - 1] if close else _char_before(events, j)
        if not before.isspace() and before != "=" and text[close + 2 : close + 3] != "=":
            return close
        close = text.find("==", close + 1)
    return -1


def _char_before(events: list[Any], j: int) -> str:
    previous = events[j - 1] if j else None
    return "\n" if previous in ("SoftBreak", "HardBreak") else "x"


def tag_name(value: Any) -> str:
    return value if isinstance(value, str) else next(iter(value))


def inline_footnotes(events: list[Any]) -> list[Any]:
    """`^[text]` as one `InlineFootnote` event holding the events of its text: pulldown-cmark
    has no inline footnotes. The footnote runs to the `]` that balances its `[`, in text of
    its own paragraph and level, as markdown-it's link label does."""
    out: list[Any] = []
    in_code = False
    i = 0
    while i < len(events):
        event = events[i]
        in_code = _in_code(event, in_code)
        text = event.get("Text") if event.__class__ is dict and not in_code else None
        at = text.find("^[") if text else -1
        closed = _label_end(events, i, at + 2) if text and at >= 0 else None
        while text and at >= 0 and closed is None:  # `^[ ^[note]`: the first never closes
            at = text.find("^[", at + 2)
            closed = _label_end(events, i, at + 2) if at >= 0 else None
        if text is None or closed is None:
            out.append(event)
            i += 1
            continue
        j, pos = closed
        inner = ([{"Text": text[at + 2 : pos]}] if j == i else
                 [{"Text": text[at + 2 :]}, *events[i + 1 : j], {"Text": events[j]["Text"][:pos]}])
        inner = [e for e in inner if e != {"Text": ""}]
        out += [{"Text": text[:at]}, {"InlineFootnote": inner}]
        events[j] = {"Text": events[j]["Text"][pos + 1 :]}
        i = j
    return [e for e in out if e != {"Text": ""}]


def _in_code(event: Any, in_code: bool) -> bool:
    """Whether the text after `event` is code, given whether the text before it was."""
    if event.__class__ is not dict or not ("Start" in event or "End" in event):
        return in_code
    return tag_name(event.get("Start", "")) == "CodeBlock" or (
        in_code and event.get("End") != "CodeBlock")


def _label_end(events: list[Any], i: int, first: int) -> tuple[int, int] | None:
    """(event index, position) of the `]` closing a label opened before `first` in event
    `i`; None where it does not close in the same paragraph at the same level."""
    depth, brackets, pos = 0, 0, first
    for j in range(i, len(events)):
        event = events[j]
        if event.__class__ is str:
            pos = 0
            continue
        (kind, value), = event.items()
        if kind == "Text" and depth == 0:
            for k in range(pos, len(value)):
                brackets += (value[k] == "[") - (value[k] == "]")
                if brackets < 0:
                    return j, k
        elif kind in ("Start", "End"):
            if tag_name(value) in _BLOCK_ENDS:
                return None
            depth += 1 if kind == "Start" else -1
        pos = 0
    return None


_INLINE = frozenset({"Emphasis", "Strong", "Strikethrough", "Link", "Image"})


def _ends_inline(event: Any) -> bool:
    """Whether `event` ends a run of inline content: the end of its block, or a block inside
    a tight list item."""
    if event is None:
        return True
    if event.__class__ is str:
        return event == "Rule"
    tag = event.get("Start", event.get("End"))
    return tag is not None and tag_name(tag) not in _INLINE


def without_block_ids(events: list[Any]) -> list[Any]:
    """Block ids (` ^id` ending a paragraph, list item or heading, or alone on the line after
    it; `obsidian.text.BLOCK_ID`) removed, as Obsidian hides them: a paragraph left empty
    goes with them."""
    out: list[Any] = []
    in_code = False
    for i, event in enumerate(events):
        in_code = _in_code(event, in_code)
        text = event.get("Text") if event.__class__ is dict and not in_code else None
        match = BLOCK_ID.search(text) if text and "^" in text else None
        if match is None or text is None or not (_ends_inline(
                events[i + 1] if i + 1 < len(events) else None) or _math_lines_next(events, i)):
            out.append(event)
            continue
        if match.start():
            out.append({"Text": text[: match.start()]})
            continue
        while out and out[-1] in ("SoftBreak", "HardBreak"):
            out.pop()
        if out and out[-1] == {"Start": "Paragraph"} and events[i + 1] == {"End": "Paragraph"}:
            out.pop()
            events[i + 1] = {"Text": ""}  # the paragraph's end, dropped below
    return [e for e in out if e != {"Text": ""}]


def _math_lines_next(events: list[Any], i: int) -> bool:
    """Whether a `$$` block on lines of its own follows event `i`'s line: a block of its own
    (`Writer.display_math`), which ends the text before it."""
    following = events[i + 1 : i + 4]
    return (len(following) > 1 and following[0] in ("SoftBreak", "HardBreak")
            and following[1].__class__ is dict and "DisplayMath" in following[1]
            and (len(following) == 2 or following[2] in ("SoftBreak", "HardBreak")
                 or (following[2].__class__ is dict and "End" in following[2])))


def without_field_keys(events: list[Any]) -> list[Any]:
    """Dataview's `(key:: value)` as its value, as the garden's `hideDataview` shows
    it: the opening `(key::` and the `)` closing it, in text of the same level, go."""
    in_code = False
    for i, event in enumerate(events):
        in_code = _in_code(event, in_code)
        text = event.get("Text") if event.__class__ is dict and not in_code else None
        opened = FIELD_OPEN.search(text) if text and "::" in text else None
        while opened is not None and text is not None and _drop_paren(events, i, opened.end()):
            text = events[i]["Text"]
            text = text[: opened.start()] + text[opened.end() :]
            events[i] = {"Text": text}
            opened = FIELD_OPEN.search(text)
    return events


def _drop_paren(events: list[Any], first: int, start: int) -> bool:
    """Remove the `)` closing a field opened in event `first` before `start`."""
    depth, parens = 0, 0
    for j in range(first, len(events)):
        event = events[j]
        if event.__class__ is str:
            if event == "Rule":
                return False
            continue
        (kind, value), = event.items()
        if kind in ("Start", "End"):
            if tag_name(value) not in _INLINE and j > first:
                return False
            depth += 1 if kind == "Start" else -1
        elif kind == "Text" and depth == 0:
            for pos in range(start if j == first else 0, len(value)):
                parens += (value[pos] == "(") - (value[pos] == ")")
                if parens < 0:
                    events[j] = {"Text": value[:pos] + value[pos + 1 :]}
                    return True
    return False
