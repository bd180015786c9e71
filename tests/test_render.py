"""Markdown in, card HTML and media out: `render_markdown` as the cards get it.

The golden cases live in `tests/fixtures/render/*.md`, in markdown-it-py's fixture format
(title, `.`, Markdown, `.`, expected, `.`). Each renders as a section of `Topic/Note.md` in the
vault `tests/fixtures/render/vault/`, with the garden at `https://garden.example.org` (none for
`no-site-url.md`), starting at line 1. The expected text is the HTML, then one line per media
file, warning and tag list. `UPDATE_GOLDEN=1 pytest tests/test_render.py` rewrites the expected
parts (and the Pygments block of `card.css`); review the diff like code.
"""

from __future__ import annotations

import os
import random
import re
import string
from functools import cache
from importlib.resources import files
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from anki_export.cards import CardSettings, Pins, note_cards
from anki_export.obsidian.code import pygments_css
from anki_export.obsidian.embeds import embedded_markdown
from anki_export.parse import HeadingRules, parse_note
from anki_export.render import (
    _MARKUP,
    LinkTargets,
    Rendered,
    RenderState,
    render_inline,
    render_markdown,
    sanitise,
)
from anki_export.vault import SourceFile, read_note, scan_vault

FIXTURES = Path(__file__).parent / "fixtures" / "render"
SITE_URL = "https://garden.example.org"
NOTE = PurePosixPath("Topic/Note.md")
UPDATE = bool(os.environ.get("UPDATE_GOLDEN"))
CARD_CSS = Path(str(files("anki_export").joinpath("templates", "card.css")))
PYGMENTS_BLOCK = re.compile(r"(/\* pygments: start \*/\n).*?(/\* pygments: end \*/)", re.S)


@cache
def vault_targets(site_url: str | None) -> LinkTargets:
    index, _ = scan_vault(FIXTURES / "vault")
    notes = [parse_note(read_note(index.root, rel), HeadingRules())[0] for rel in index.notes]
    return LinkTargets(index, {n.rel: n for n in notes if n.published}, site_url)


def shown(result: Rendered) -> str:
    """What a golden file holds for one rendering."""
    lines = [result.html]
    lines += [f"media: {m}" for m in result.media]
    lines += [f"warning: line {d.line}: {d.code}: {d.message}" for d in result.diagnostics]
    lines += [f"tags: {' '.join(result.tags)}"] if result.tags else []
    return "\n".join(lines) + "\n"


def read_fixture_file(path: Path) -> list[list[str]]:
    """The cases of a golden file, each [title, Markdown, expected]: a title line, then the
    Markdown and the expected text, each closed by a line holding a single `.`."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cases: list[list[str]] = []
    dots = [n for n, line in enumerate(lines) if line.rstrip() == "."]
    for opening, middle, closing in zip(dots[::3], dots[1::3], dots[2::3], strict=False):
        cases.append([lines[opening - 1].strip(), "".join(lines[opening + 1 : middle]),
                      "".join(lines[middle + 1 : closing])])
    return cases


def golden_cases() -> list[object]:
    return [pytest.param(path, n, markdown, expected, id=f"{path.stem}: {title}")
            for path in sorted(FIXTURES.glob("*.md"))
            for n, (title, markdown, expected) in enumerate(read_fixture_file(path))]


@pytest.mark.parametrize(("path", "number", "markdown", "expected"), golden_cases())
def test_golden(path: Path, number: int, markdown: str, expected: str) -> None:
    site_url = None if path.stem == "no-site-url" else SITE_URL
    actual = shown(render_markdown(markdown, RenderState(NOTE, 1, vault_targets(site_url))))
    if UPDATE and actual != expected:
        _rewrite_case(path, number, actual)
        return
    assert actual == expected


def _rewrite_case(path: Path, number: int, expected: str) -> None:
    cases = read_fixture_file(path)
    cases[number][2] = expected
    path.write_text("\n".join(f"{title}\n.\n{markdown}.\n{output}.\n"
                              for title, markdown, output in cases), encoding="utf-8")


DANGEROUS = """\
<script>alert(1)</script> plain words stay
<img src="attachments/scan.png" onerror="alert(2)"> and <b onclick="alert(3)">bold</b> stays
[click](javascript:alert(4)) and <a href="JaVaScRiPt:alert(5)">x</a> and
<a href="&#106;avascript:alert(6)">y</a> <a href=" javascript:alert(7)">z</a>
<iframe src="https://example.org"></iframe><svg><script>alert(8)</script></svg>
<object data="x.swf"></object><embed src="x.swf"><form action="https://x"><input type="text"></form>
<span style="background: url(https://tracker.example/p.gif); color: red">red</span>
<img src="https://tracker.example/pixel.gif"> <img src="//tracker.example/p.gif">
<style>body { background: url(https://tracker.example/s.gif) }</style>
<math><mi xlink:href="javascript:alert(9)">m</mi></math> <a href="data:text/html,x">d</a>
"""


def test_dangerous_html_never_reaches_a_card() -> None:
    html = render_markdown(DANGEROUS, RenderState(NOTE, 1, vault_targets(None))).html.lower()
    for bad in ("<script", "alert(", "onerror", "onclick", "javascript:", "<iframe", "<object",
                "<embed", "<form", "<svg", "<style", "url(", "data:"):
        assert bad not in html, bad
    assert re.search(r'<img[^>]*src="[^"]*//', html) is None, "a remote image would load"
    for kept in ("plain words stay", "<b>bold</b>", "color:red", "<a>click</a>", "<img src="):
        assert kept in html.replace(" ", "") or kept in html, kept


def test_sanitise_keeps_what_notes_write() -> None:
    kept = ('<p align="center"><u>u</u> <sub>2</sub> <kbd>K</kbd> <font color="red">f</font> '
            '<span style="color:red">s</span><br><input checked="" disabled="" type="checkbox">'
            '</p><details open=""><summary>S</summary>x</details>')
    assert sanitise(kept) == kept


def test_card_css_carries_the_pygments_colours() -> None:
    css = CARD_CSS.read_text(encoding="utf-8")
    block = PYGMENTS_BLOCK.search(css)
    assert block is not None, "card.css lost its `pygments: start` / `pygments: end` markers"
    expected = block.group(1) + pygments_css() + block.group(2)
    if UPDATE and block.group(0) != expected:
        CARD_CSS.write_text(css.replace(block.group(0), expected), encoding="utf-8")
        return
    assert block.group(0) == expected


RAW = {"[[": r"\[\[", "%%": "%%", "==x==": r"==[^=\s][^=]*==", "[!x]": r"\[!\w+\]",
       "$$": r"\$\$", "\\|": r"\\\|"}
NOTE_TEXT = """\
---
{"dg-publish":true,"permalink":"/topic/note/"}
---
## Everything at once
See [[Topic/Sibling\\|the sibling]] and [[Nowhere]]. ==Key== point %%private%% #exam/part-1
%%
a comment
over lines
%%
> [!warning]- Careful
> Math $a^2$ and a price of $5 and $10.

| A | B |
|---|---|
| [[Other note\\|other]] | $x$ |

$$
\\frac{1}{2}
$$

![[scan.png|100]]
![[missing.png]]
`[[code stays]]` and `==this==`
"""


def test_note_cards_carry_inline_tags_media_and_file_lines() -> None:
    targets = vault_targets(SITE_URL)
    note, _ = parse_note(SourceFile(NOTE, NOTE_TEXT), HeadingRules())
    (card,), diagnostics = note_cards(note, "/topic/note/", CardSettings("{heading}", None),
                                      targets, Pins())
    assert card.tags == ("exam::part-1",)
    assert card.media == (PurePosixPath("attachments/scan.png"),)
    assert [(d.line, d.code) for d in diagnostics] == [(5, "broken-link"), (22, "missing-image")]
    outside_code = re.sub(r"<(pre|code)\b.*?</\1>", " ", " ".join(card.fields), flags=re.S)
    leaks = [name for name, pattern in RAW.items() if re.search(pattern, outside_code)]
    assert leaks == []
    assert "[[code stays]]" in card.fields[1]


def test_plain_headings_skip_the_parser_with_the_same_result() -> None:
    """Headings without markup skip the parser, with exactly what the parser renders."""
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + " ().,-/?'\"–—é→+;@:\xa0\u2028"
    checked = 0
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))).strip()
        if not text or _MARKUP.search(text):
            continue
        heading = render_markdown(f"# {text} #", RenderState(PurePosixPath("x.md"), 1)).html
        parsed = heading.removeprefix("<h1>").removesuffix("</h1>")
        assert render_inline(text, RenderState(PurePosixPath("x.md"), 1)).html == parsed
        checked += 1
    assert checked > 1000


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc"))
               | st.sampled_from("\t\n\r\xa0\ufeff")))
@example("\ufeffx\n")
@example("a\r\nb\n")
@example("")
def test_text_blocks_escaped_without_pygments_are_what_pygments_gives(code: str) -> None:
    """A ```text block skips Pygments where it can (`obsidian.code.is_plain`): its
    plain-text lexer only escapes, so the card must be the same, once sanitised, as if
    Pygments had highlighted it."""
    from pygments import highlight

    from anki_export.escape import text as escape_text
    from anki_export.obsidian.code import DAY_STYLE, _formatter, _lexer, highlight_code

    lexer = _lexer("text")
    assert lexer is not None
    skipped = highlight_code(code, "text")
    card = sanitise(skipped) if skipped else escape_text(code)
    assert card == sanitise(highlight(code, lexer, _formatter(DAY_STYLE)))


def test_an_embed_cuts_its_part_from_the_notes_blocks(tmp_path: Path) -> None:
    """Headings inside a quote or list end no part; a block is its paragraph, or the list
    item (with its children) whose own text ends with the id."""
    (tmp_path / "N.md").write_text(
        "---\ndg-publish: true\n---\n## Part\nText ^para\n> ## Quoted\n\n- a\n- b ^item\n"
        "  - child\n\nSetext\n------\nlast\n", encoding="utf-8")
    note = parse_note(read_note(tmp_path, PurePosixPath("N.md")), HeadingRules())[0]
    assert embedded_markdown(note, "Part") == "Text ^para\n> ## Quoted\n\n- a\n- b ^item\n" \
        "  - child\n"
    assert embedded_markdown(note, "^para") == "Text ^para"
    assert embedded_markdown(note, "^item") == "- b ^item\n  - child\n"
    assert embedded_markdown(note, "Setext") == "last"
    assert embedded_markdown(note, "Quoted") is None
