"""What the fast path leaves to markdown-it: every rule here is a difference between the two
parsers that `tests/test_pulldown.py` found, checked on the source before any parsing.
"""

from __future__ import annotations

import itertools
import re

__all__ = ["MATH_BLANK", "Unsupported", "comment_tail_cut", "math_blanks_filled", "supported"]


class Unsupported(Exception):
    """The section holds something only the markdown-it path renders (or warns about)."""


_MARKER = r"(?:[-*+]|\d++[.)])"  # a list item's
_CONTROL = re.compile(rf"\n[ \t>]*+(?:{_MARKER}[ \t]++)*+[ \t]*+[\x0b\x0c]|[\x0b\x0c][ \t]*+\n")
"""A vertical tab or form feed opening or ending a line's text: blank to pulldown-cmark, text
to markdown-it (as CommonMark has it). `render_events` turns NUL into U+FFFD, as CommonMark
asks and markdown-it does, while pulldown-cmark drops it."""
_UNSUPPORTED_AFTER = (  # text that must be there, then the pattern that makes it unsupported
    ("~~", re.compile(r"(?<!~)~(?!~)|~~~|\w~~[^\w\s~]|[^\w\s~]~~\w")),  # a single `~`
    # beside strikes may undo one in pulldown-cmark (`~~a~ b~~`), runs of 3 differ, and so
    # does a `~~` between a letter and punctuation; a pair of single `~`, see `_OPTIONS`
    ("&", re.compile(r"&(?:#|\w+;)")),  # entities, which could hide `#`, `=` or `_`
    ("\\", re.compile(r"\\[-_/=#[]|\\[ \t]+\n|\[\[[^\]\n]*\\(?!\|)")),  # escapes
    # beside tags and highlights; a backslash in a wiki-link other than the escaped pipe
    ("\xa0", re.compile(r"\n[ \t>*+\-\d.)#]*\xa0|\xa0[ \t]*\n")),  # markdown-it strips
    # a line's outer no-break spaces (also after a marker), pulldown-cmark keeps them
    ("$", re.compile(r"\$(?<=[^\s$]\$)\d")),  # a `$` that may close math before a digit:
    # not in Obsidian nor markdown-it, but in pulldown-cmark (`$0$` and `$5 and $10` read
    # alike); the `$` first, then what is before it, which searches ten times as fast
    ("\t", re.compile(r"(?<![ \t]) *+\t[ \t]*+(?:#++[ \t]*+)?\n|>[ ]*\t")),  # a tab ending
    # a line (or a heading before its closing `#`s): markdown-it keeps it; after `>` it
    # expands otherwise. Tried once per run of blanks, which no quantifier gives back: from
    # every tab, 2,000 lines indented by up to 2,000 tabs took 150 s
    ("^", re.compile(r"(?:\A|\n[ \t>]*|\n[ \t>]*(?:#{1,6}(?:[ \t][^\n]*)?|```[^\n]*|~~~[^\n]*)"
                     r"|\n(?:    |\t)[^\n]*)\n[ \t>]*\^[A-Za-z0-9-]+[ \t]*\n")),  # a paragraph of
    # a block id alone (after a blank line, a heading or code): markdown-it hides it, and
    # its renderer then opens the next block with a newline
    ("]:", re.compile(r"\n {0,3}\[[^^\]\n][^\]\n]*\]:[^\n]*\n(?:    |\t)")),  # a link
    # reference definition with an indented line below it: code to markdown-it only
    ("[!", re.compile(r"\[![^\n]*\^[A-Za-z0-9-]+[ \t]*\n")),  # a block id ending a callout's
    # first line: markdown-it cuts it from the title, even when it is all the title holds
    ("[^", re.compile(r"\n(?! {0,3}\[\^[^\]\n]+\]:)[ \t]*+\S[^\n]*+\n {0,3}\[\^[^\]\n]+\]:"
                      r"|\n {0,3}\[\^[^\]\n]+\]:[ \t]*\n")),  # a footnote definition right
    # under text other than a definition (a quote's or a table's to markdown-it), or an
    # empty one: the parsers differ
    ("\n", re.compile(rf"\n[ \t>]*+(?:(?:{_MARKER}[ \t]++)++(?:\n|\[.\](?! [^ \t\n]))"
                      rf"|(?:{_MARKER}[ \t]++)*+{_MARKER}\n)")),  # an
    # empty list item, or a task box not followed by one space and text, also in a list
    # opened on the same line (`- 1. [ ]`): markdown-it reads a box alone as text, and keeps
    # the blanks after it
)


def supported(markdown: str) -> bool:
    """Whether the source is free of what this writer leaves to markdown-it. Cheap tests
    first: this runs for every section. Lines are found by their newlines (one put before the
    first line and after the last), not by `^` and `re.M`: `^` is tried at every character,
    a newline only where there is one, which is three times as fast."""
    markdown = f"\n{markdown}" if markdown.endswith("\n") else f"\n{markdown}\n"
    return ((("\x0b" not in markdown and "\x0c" not in markdown)
             or not _CONTROL.search(markdown))
            and _nothing_after(markdown)
            and ("$$" not in markdown or _math_blanks(markdown) is not None)
            and ("|" not in markdown or _tables_apart(markdown))
            and (">" not in markdown or _no_indented_lazy_lines(markdown))
            and (("`" not in markdown and "$" not in markdown) or _spans_in_lines(markdown)))


def _nothing_after(markdown: str) -> bool:
    """No pattern of `_UNSUPPORTED_AFTER` found in the framed text (see `supported`); a loop,
    as a generator's steps cost more than the `in` tests themselves."""
    for trigger, pattern in _UNSUPPORTED_AFTER:
        if trigger in markdown and pattern.search(markdown):
            return False
    return True


def _no_indented_lazy_lines(markdown: str) -> bool:
    """Whether no indented line continues a quote's paragraph (no blank line or new block
    between): markdown-it reads such a line as code, pulldown-cmark as lazy text. The text
    is framed by newlines (see `supported`)."""
    for quote in _QUOTE_LINE.finditer(markdown):
        pos = quote.end() + 1
        while pos < len(markdown):
            end = markdown.find("\n", pos)
            line = markdown[pos : end if end >= 0 else len(markdown)]
            if line.startswith("    ") or line.lstrip(" ").startswith("\t"):
                return False
            if not line.strip() or line.lstrip(" ").startswith(">") or _NEW_BLOCK.match(line):
                break  # the paragraph ends, or the next quote line is looked at on its own
            pos = len(markdown) if end < 0 else end + 1
    return True


_QUOTE_LINE = re.compile(r"\n {0,3}>.*")
_NEW_BLOCK = re.compile(r" {0,3}(?:#{1,6}(?:[ \t]|$)|[-*+][ \t]|\d+[.)][ \t]|```|~~~)")


def _spans_in_lines(markdown: str) -> bool:
    """Whether no code span or math can run over a line break, where the parsers differ (a
    line with an odd number of backtick runs, not a fence, or of dollars might start one)."""
    for line in markdown.split("\n"):
        if "`" in line and len(_BACKTICKS.findall(line)) % 2 and not line.lstrip(
                " >").startswith(("```", "~~~")):
            return False
        if "$" in line and (line.count("$") - line.count("\\$")) % 2:
            return False
    return True


_BACKTICKS = re.compile("`+")


_DELIMITER_ROW = re.compile(
    r"[ \t]*+\|?[ \t]*+:?-++:?[ \t]*+(?:\|[ \t]*+:?-++:?[ \t]*+)*+\|?[ \t]*+")
"""Possessive (`*+`): giving back a blank or a `-` never helps a match, and trying every split
of a deep indentation between two `[ \t]*` took time quadratic in each line's length."""
_DELIMITER_LINE = re.compile(f"\n{_DELIMITER_ROW.pattern}\n")
_LONE_PIPE = re.compile(r"\n[ \t]*\|[ \t]*\n")


def _tables_apart(markdown: str) -> bool:
    """Whether every table starts at the margin with `|`, after a blank line: markdown-it also
    reads a table into a heading, a list item or any line that holds a `|`, and pulldown-cmark
    does not; and no line of it is indented as code. The text is framed by newlines (see
    `supported`)."""
    if not _DELIMITER_LINE.search(markdown):
        return True
    if _LONE_PIPE.search(markdown):
        return False  # a row of one `|`: an empty row to markdown-it, text to pulldown-cmark
    lines = markdown.split("\n")
    for n, line in enumerate(lines):
        if not (n and "-" in line and "|" in lines[n - 1] and _DELIMITER_ROW.fullmatch(line)):
            continue
        if (not lines[n - 1].startswith("|") or "|" not in line
                or lines[n - 1].rstrip().endswith("\\") or (n > 1 and lines[n - 2].strip())):
            return False
        for row in itertools.takewhile(str.strip, lines[n + 1 :]):
            if row.startswith(("    ", "\t")):
                return False  # code to markdown-it, ending the table; a row to pulldown-cmark
    return True


_COMMENT_LINE = re.compile(r"(?:\A|\n) {0,3}%%")
_CODE_OR_HTML = re.compile(r"```|~~~|<|\$\$|\n(?:    |\t)|\A(?:    |\t)")


def comment_tail_cut(markdown: str) -> str:
    """The source up to its first line opening with `%%` that is never closed, which (unless
    something before it may hold it as code, HTML or math) hides the rest of the section in
    markdown-it: the one comment `parse.mask_comments` leaves."""
    line = _COMMENT_LINE.search(markdown)
    if (line is None or "%%" in markdown[line.end() :]
            or _CODE_OR_HTML.search(markdown, 0, line.start())):
        return markdown  # closed below (a comment of those lines only), or maybe code
    return markdown[: line.start() + 1 if line.start() else 0]


MATH_BLANK = "\ufdd4"
"""Put on each blank line inside a `$$` block (`math_blanks_filled`) and taken out of the TeX
again by the writer: a noncharacter, which no note holds."""


def math_blanks_filled(markdown: str) -> str:
    """The source with `MATH_BLANK` ending each blank line inside a `$$` display block:
    markdown-it's block runs on over blank lines, as Obsidian's does, while a blank line would
    split pulldown-cmark's paragraph and leave two lines of `$$` text. No newline moves, so byte
    offsets still give the right lines (`writer.Lines`) when built from the result."""
    lines = markdown.split("\n")
    for n in _math_blanks(lines) or ():
        lines[n] += MATH_BLANK
    return "\n".join(lines)


def _math_blanks(markdown: str | list[str]) -> list[int] | None:
    """The blank lines inside `$$` display blocks, or None unless every `$$` is display math
    that both parsers read alike once those are filled (`math_blanks_filled`): a block that
    starts a line at the margin, with blank lines (or the section's ends) around it
    (markdown-it's block also interrupts paragraphs and lists); or `$$…$$` inside a line of
    text (`_inline_display_alike`)."""
    lines = markdown.split("\n") if isinstance(markdown, str) else markdown
    inside = False
    blanks: list[int] = []
    for n, line in enumerate(lines):
        if "$$" not in line:
            if inside and "$" in line:
                return None  # `$` may open math
            if inside and not line.strip():
                blanks.append(n)
            continue
        if not inside and not _LINE_OPENS_WITH_MATH.match(line):
            if not _inline_display_alike(line):
                return None
            continue
        still_inside = _block_line(lines, n, inside=inside)
        if still_inside is None:
            return None
        inside = still_inside
    return None if inside else blanks


def _block_line(lines: list[str], n: int, *, inside: bool) -> bool | None:
    """Whether a display block is still open after line `n`, a line with `$$` that opens or
    closes one; None where the parsers may read it differently."""
    line = lines[n]
    if "$$$" in line or line.count("$") != 2 * line.count("$$"):
        return None  # a `$` in the TeX: pulldown-cmark may read inline math there
    ends = line.rstrip().endswith("$$") and (
        inside or (line.startswith("$$") and len(line.strip()) > 2))
    if inside and not ends:
        return None  # markdown-it's block closes only on a line ending with `$$`
    if not inside and (not line.startswith("$$") or not _text_or_blank_above(lines, n)):
        return None
    if ends:
        if not _text_or_blank_below(lines, n) or line.count("$$") > 2 - inside:
            return None
        return False
    return True if line.count("$$") == 1 else None


def _text_or_blank_above(lines: list[str], n: int) -> bool:
    """Whether the lines above line `n` up to a blank one are a paragraph of plain text at the
    margin, or there are none: markdown-it's display block ends that paragraph, and the
    writer ends pulldown-cmark's there too (`Writer.display_block`); a block in a list, a
    quote or any other container ends that instead in markdown-it, or is read otherwise."""
    while n and lines[n - 1].strip():
        n -= 1
        line = lines[n]
        if not _PLAIN_LINE.match(line) or line.endswith("\\") or "^" in line:
            return False
    return True


def _text_or_blank_below(lines: list[str], n: int) -> bool:
    """Whether the lines below line `n` up to a blank one are plain text at the margin (see
    `_text_or_blank_above`), with no `$` or block id: markdown-it opens a paragraph there,
    and the writer opens one in pulldown-cmark's too (`Writer.display_block`)."""
    while n + 1 < len(lines) and lines[n + 1].strip():
        n += 1
        if not _PLAIN_LINE.match(lines[n]) or "$" in lines[n] or "^" in lines[n]:
            return False
    return True


_PLAIN_LINE = re.compile(r"[^\s>*+\-\d#|`~<$=\[]")
"""A line that starts at the margin with a character no block starts with."""
_LINE_OPENS_WITH_MATH = re.compile(r"[ \t>]*(?:(?:[-*+]|\d+[.)])[ \t]+)*\$\$")
_DOLLARS = re.compile(r"\\?\$+")


def _inline_display_alike(line: str) -> bool:
    """Whether the `$$` in a line of text pair up as `$$tex$$`, each around TeX that holds
    something and no `$`, backtick or `|` (which code spans and table cells would claim first
    in one parser), none escaped, in a longer run of dollars or after an odd number of lone
    `$` (one may close inline math on the `$$`'s first dollar): there pulldown-cmark's
    display math is markdown-it's."""
    opened = -1
    lone = 0
    for run in _DOLLARS.finditer(line):
        dollars = run.group()
        if dollars == "$$" and opened < 0:
            if lone % 2:
                return False
            opened = run.end()
        elif dollars == "$$":
            tex = line[opened : run.start()]
            if not tex.strip() or "`" in tex or "|" in tex:
                return False
            opened = -1
        elif opened >= 0 or len(dollars) > 2 or dollars == "\\$$":
            return False
        else:
            lone += dollars == "$"
    return opened < 0
