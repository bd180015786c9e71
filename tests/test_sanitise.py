"""Someone else's garden is hostile input: what never reaches a card.

No script, handler, `javascript:` link, frame or object; no image but a file of the package,
however its URL is written and wherever raw HTML hides it from a parser other than the
sanitiser's; none of Anki's own `[sound:…]` or `[latex]` tags, which Anki would play or
typeset; and no setting that injects any of these. Checked on `render_markdown` (with
generated fragments) and through the command line into real Anki.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from anki_export.ids import media_name
from anki_export.render import RenderState, render_markdown

from .anki_helpers import AnkiCollection
from .conftest import published, write_vault
from .test_render import NOTE, vault_targets

Run = Callable[..., Result]

EVIL = ["https:evil.example/a.png", "/\\evil.example/b.png", "//evil.example/e.png",
        "https://evil.example/f.png", "HTTPS:evil.example/g.png", "\\\\evil.example/h.png",
        " //evil.example/i.png", "\t//evil.example/j.png", "\n/\\evil.example/k.png",
        "&#9;https:evil.example/l.png", "data:image/png;base64,iVBORw0KGgo=",
        " data:image/gif;base64,R0lGOD", "javascript:alert(1)", "C:/evil/m.png",
        "file:///etc/n.png", "/etc/o.png"]
"""Image URLs that load from elsewhere, as a browser reads them (scheme, `//`, `/\\`, `/`,
after it trims spaces and controls), each of which must never be a card's `<img src>`."""
WRAPPERS = ["noscript", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "style",
            "script", "template", "plaintext"]
"""Elements whose content html5ever (nh3) and Python's html.parser read differently."""

_TAG = re.compile(r'<(/?)([a-z][a-z0-9]*)((?: [a-z-]+(?:="[^"<>]*")?)*)>')
_ATTRIBUTE = re.compile(r' ([a-z-]+)(?:="([^"]*)")?')
_SCHEME = re.compile(r"[\x00-\x20]*([A-Za-z][A-Za-z0-9+.\-\t\n\r]*):")  # as a browser reads it
_WEB = {"http", "https", "mailto"}
_LOADS = {"src", "srcset", "poster", "background", "data", "href", "action", "formaction",
          "xlink:href", "lowsrc", "dynsrc", "longdesc", "cite", "icon", "manifest"}


def foreign_images(card_html: str, media: set[str]) -> list[str]:
    """What in sanitised HTML could load from elsewhere: every `<` starts a tag (text holds
    `&lt;`), the only attribute that loads is `<img src>` and it names a media file; `<a href>`
    goes somewhere only when followed, and only to the web or mail."""
    found = []
    tags = list(_TAG.finditer(card_html))
    if [m.start() for m in tags] != [i for i, c in enumerate(card_html) if c == "<"]:
        found.append(f"markup the sanitiser would not write: {card_html!r}")
    for tag in tags:
        name = tag.group(2)
        for attribute, value in _ATTRIBUTE.findall(tag.group(3)):
            if attribute.startswith("on") or (attribute == "style" and "url" in value):
                found.append(f"<{name} {attribute}={value!r}>")
            elif name == "img" and attribute == "src":
                if html.unescape(value) not in media:
                    found.append(value)
            elif name == "a" and attribute == "href":
                scheme = _SCHEME.match(html.unescape(value))
                if scheme and re.sub("[\t\n\r]", "", scheme.group(1)).lower() not in _WEB:
                    found.append(value)
            elif attribute in _LOADS:
                found.append(f"<{name} {attribute}={value!r}>")
    return found


def rendered(markdown: str) -> tuple[str, set[str]]:
    result = render_markdown(markdown, RenderState(NOTE, 1, vault_targets(None)))
    return result.html, {media_name(rel) for rel in result.media}


@pytest.mark.parametrize("src", EVIL)
@pytest.mark.parametrize("form", [
    '<img src="{}">', "<img src={}>", "<p>a <img alt=x src='{}'> b</p>", "![x]({})",
    "![x](<{}>)", "![[{}]]", '<div><img src="{}" srcset="{} 2x"></div>'])
def test_no_image_loads_from_elsewhere(form: str, src: str) -> None:
    card_html, media = rendered(form.replace("{}", src) + "\n")
    assert foreign_images(card_html, media) == []


@pytest.mark.parametrize("link", [
    "[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "[x](<java\tscript:alert(1)>)",
    "[x](java&#x09;script:alert(1))", "[x](&#x6a;avascript:alert(1))", "[x](%6Aavascript:x)",
    "[x]( vbscript:x)", "[x](data:text/html;base64,PHNjcmlwdD4=)", "<javascript:alert(1)>",
    "[x][r]\n\n[r]: javascript:alert(1)", "![[javascript:alert(1)//x.png]]",
    "![x](data:text/html,x.png)", '<a href="&#1;javascript:alert(1)">x</a>',
    '<a href="java\nscript:alert(1)">x</a>', '<a href="  JAVASCRIPT&colon;alert(1)">x</a>'])
def test_links_go_to_the_web_or_mail_only(link: str) -> None:
    card_html, media = rendered(link + "\n")
    assert foreign_images(card_html, media) == []


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_an_image_hidden_from_other_parsers_is_still_checked(wrapper: str) -> None:
    """`<noscript><p title="</noscript><img …>">`: html.parser sees an attribute, a browser
    (and nh3) an image; only one parse decides, the sanitiser's."""
    section = "".join(f'<{wrapper}><p title="</{wrapper}><img src={src}>"></{wrapper}>\n'
                      for src in [*EVIL[:3], "attachments/scan.png"])
    card_html, media = rendered(section)
    assert foreign_images(card_html, media) == []


def test_vault_images_in_raw_html_are_packaged_from_the_sanitisers_parse() -> None:
    card_html, media = rendered('<noscript><p title="</noscript><img src="scan.png" '
                                'width="80">"></noscript> and <img src=local.png>\n')
    assert media == {"21154daa7c-scan.png", "0924e2d3f2-local.png"}
    assert '<img src="21154daa7c-scan.png" width="80">' in card_html
    assert '<img src="0924e2d3f2-local.png">' in card_html


def test_remote_and_missing_raw_images_are_warned_about_on_their_line() -> None:
    result = render_markdown("text\n\n<img src=https:evil.example/c.png>\n<img src=gone.png>\n",
                             RenderState(NOTE, 10, vault_targets(None)))
    assert [(d.line, d.code) for d in result.diagnostics] == [
        (12, "outside-vault"), (13, "missing-image")]
    assert "evil" not in result.html and "gone" not in result.html


_PIECES = st.sampled_from([
    *(f"<{w}>" for w in WRAPPERS), *(f"</{w}>" for w in WRAPPERS), '<p title="', '">', '"',
    "'", ">", "<", "\n", "\n\n", "<img src=", "<img alt=x src=", " srcset=", "<svg>", "</svg>",
    "<math>", "<image href=", "<use href=", "<video poster=", "<audio src=", "<source src=",
    "<object data=", "<embed src=", "<link href=", "<table background=", "<input type=image src=",
    "<a href=", "</a>", "<!--", "-->", "<![CDATA[", "]]>", "![x](", ")", "![[", "]]", "`",
    "    ", "> ", "- ", "$", "&#", "&#x2f;", "&Tab;", "&colon;", "/", "\\", "scan.png",
    "local.png", "x onerror=alert(1) ", *EVIL])


_QUOTE = st.sampled_from(['"', "'", ""])
_IMG = st.builds("<img{}{}{}{}{}>".format, st.sampled_from(["", " alt=x", " srcset=a.png"]),
                 st.sampled_from([" src=", " src =", "\nsrc="]), _QUOTE,
                 st.sampled_from([*EVIL, "scan.png", "local.png", "x"]), _QUOTE)
_HIDDEN = st.builds(lambda wrapper, img: f'<{wrapper}><p title="</{wrapper}>{img}"></{wrapper}>',
                    st.sampled_from(WRAPPERS), _IMG)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_PIECES, _IMG, _HIDDEN), max_size=10).map("".join))
def test_generated_hostile_html_loads_nothing_from_elsewhere(fragment: str) -> None:
    card_html, media = rendered(fragment)
    assert foreign_images(card_html, media) == []


# -- through the command line, into real Anki


EVIL_NOTE = """\

## Noscript
<noscript><p title="</noscript><img src=https:evil.example/a.png>"></noscript>

## Title
<title><p title="</title><img src=/\\evil.example/b.png>"></title>

## Colon
<img src="https:evil.example/c.png">

## Markdown
![d](https:evil.example/d.png)

## Textarea
<textarea><p title="</textarea><img src=//evil.example/e.png>"></textarea>

## Others
<xmp><p title="</xmp><img src=//evil.example/f.png>"></xmp>
<iframe><p title="</iframe><img src=https:evil.example/g.png>"></iframe>
<noembed><p title="</noembed><img src=/\\evil.example/h.png>"></noembed>
<noframes><p title="</noframes><img src=//evil.example/i.png>"></noframes>

## Spaced
<img src=" //evil.example/j.png"> <img src="&#9;https:evil.example/k.png">
<img src="
/\\evil.example/l.png"> <img src="data:image/png;base64,iVBORw0KGgo=">

## Script
<script>alert(1)</script> plain words stay

## Handler
<img src="nope.png" onerror="alert(2)"> and <b onclick="alert(3)">bold</b> stays bold

## Anchors
[click](javascript:alert(4)) and <a href="JaVaScRiPt:alert(5)">x</a> and <iframe src="https://example.org"></iframe>
<a href=" &#106;ava&#x09;script:alert(6)">y</a> <a href="vbscript:x">v</a>
<a href="data:text/html,x">d</a>

## Style
<svg><script>alert(6)</script></svg><object data="x.swf"></object> end

## Own images
![[scan.png]] and <noscript><p title="</noscript><img src=scan.png>"></noscript>
"""


def test_hostile_html_never_reaches_a_card_in_anki(run_cli: Run, tmp_path: Path,
                                                    anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "garden", {"Evil.md": published("/evil/", EVIL_NOTE)})
    (vault / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    result = run_cli("build", vault, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    anki.import_package(tmp_path / "out" / "garden.apkg")
    notes = anki.notes()
    assert len(notes) == 12
    media = anki.media_names()
    assert media == {media_name(PurePosixPath("scan.png"))}
    for note in notes:
        for value in note.fields.values():
            assert foreign_images(value, media) == [], note.question
    everything = " ".join(note.text for note in notes).lower()
    for bad in ("<script", "onerror", "onclick", "javascript:", "vbscript:", "data:", "<iframe",
                "<object", "<svg", "evil.example/a", "evil.example/b"):
        assert bad not in everything, bad
    assert "plain words stay" in everything and "<b>bold</b>" in everything
    own = next(n for n in notes if n.question.endswith("Own images"))
    assert own.fields["Answer"].count(f'src="{media_name(PurePosixPath("scan.png"))}"') == 2
    markdown = next(n for n in notes if n.question.endswith("Markdown"))
    assert '<a class="ae-remote-image" href="https:evil.example/d.png">d</a>' in markdown.text
    assert "outside-vault" in result.output  # raw images from elsewhere are named


ANKI_TAGS = ["[sound:x.mp3]", "[latex]x^2[/latex]", "[LaTeX]y[/latex]",
             "[anki:tts lang=en_US]hi[/anki:tts]", "[anki:play:q:0]"]
# (`[$$]z[/$$]` is display math `$$]z[/$$` as Obsidian reads it: MathJax, not Anki's LaTeX.)


def test_ankis_own_tags_in_notes_are_shown_as_text(run_cli: Run, tmp_path: Path,
                                                   anki: AnkiCollection) -> None:
    """Anki plays `[sound:…]` and typesets `[latex]` wherever a field's HTML holds them: in a
    title, a heading, text, code, a cloze, an attribute, behind a control character."""
    text = " ".join(ANKI_TAGS)
    vault = write_vault(tmp_path / "garden", {
        "[sound:t.mp3] Title.md": published("/tags/", f"""\
            ## Heading [sound:h.mp3]
            {text} `[sound:c.mp3]` <span title="[sound:a.mp3]">attr</span> [\x01sound:d.mp3]
            ## Cloze
            {{{{c1::[sound:k.mp3]}}}} and [latex]w[/latex]
            """)})
    assert run_cli("build", vault, "-o", tmp_path / "out").exit_code == 0
    anki.import_package(tmp_path / "out" / "garden.apkg")
    assert len(anki.notes()) == 2
    for cid in anki.col.find_cards(""):
        card = anki.col.get_card(cid)
        question, answer = card.question(), card.answer()
        assert card.question_av_tags() == [] and card.answer_av_tags() == []
        for side in (question, answer):
            assert "[anki:play" not in side and "latex-" not in side and "class=latex" not in side
        shown = html.unescape(answer)
        assert "[sound:t.mp3] Title" in shown
        if "Title — Heading" in shown:
            assert all(tag in shown for tag in ANKI_TAGS) and "[sound:h.mp3]" in shown
            assert "[sound:c.mp3]" in shown and "[sound:d.mp3]" in shown
        else:
            assert "[sound:k.mp3]" in shown and "[latex]w[/latex]" in shown


def test_a_hostile_question_format_is_sanitised_after_formatting(
        run_cli: Run, tmp_path: Path, anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "garden", {"N.md": published("/n/", """\
        ## Math $x<y$ and a < b
        x
        ## Why ![[scan.png]]?
        y
        """)})
    (vault / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (vault / "anki-export.toml").write_text(
        'question-format = "<img src=x onerror=alert(1)><a href=\'javascript:x\'>{title}</a>'
        '<script>alert(2)</script> — {heading}"\nsite-url = "https://garden.example.org"\n')
    assert run_cli("build", vault, "-o", tmp_path / "out").exit_code == 0
    anki.import_package(tmp_path / "out" / "garden.apkg")
    questions = sorted(n.question for n in anki.notes())
    assert questions == [
        r"<img><a>N</a> — Math \(x&lt;y\) and a &lt; b",
        f'Why <img src="{media_name(PurePosixPath("scan.png"))}" alt="">?',
    ]


def test_a_plain_question_format_shows_headings_as_before(
        run_cli: Run, tmp_path: Path, anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "garden", {"N.md": published("/n/", """\
        ## Math $x<y$ and a < b & "c"
        x
        """)})
    assert run_cli("build", vault, "-o", tmp_path / "out",
                   "--question-format", "{heading} ({title})").exit_code == 0
    anki.import_package(tmp_path / "out" / "garden.apkg")
    assert [n.question for n in anki.notes()] == [r'Math \(x&lt;y\) and a &lt; b &amp; "c" (N)']


# -- settings are input too


@pytest.mark.parametrize("url", ["javascript:alert(1)//", "https:evil.example", "ftp://x.org",
                                 "data:text/html,x", " https://x.org", "https://x.org/\"><b>"])
def test_a_site_url_that_is_not_a_web_address_is_a_config_error(
        run_cli: Run, tmp_path: Path, url: str) -> None:
    vault = write_vault(tmp_path / "garden", {"N.md": published("/n/", "## S\nx\n")})
    quoted = url.replace('"', "")
    (vault / "anki-export.toml").write_text(f'deck = "D"\nsite-url = "{quoted}"\n')
    result = run_cli("build", vault, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "anki-export.toml:2: 'site-url' must be your garden's http:// or https:// address, " \
        'such as "https://my-garden.example.org"' in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    result = run_cli("build", vault, "-o", tmp_path / "out", "--site-url", url)
    assert result.exit_code == 2 and "--site-url" in result.output


@pytest.mark.parametrize(("text", "message"), [
    ("a = " + "[" * 5000 + "]" * 5000, "anki-export.toml: not valid TOML: nested too deeply"),
    ("# " + "x" * 300_000 + "\n", "anki-export.toml: over 256 KB: not a settings file"),
    ("\udcff", "anki-export.toml: cannot read the config file"),
])
def test_a_settings_file_is_read_with_bounds(run_cli: Run, tmp_path: Path, text: str,
                                            message: str) -> None:
    vault = write_vault(tmp_path / "garden", {"N.md": published("/n/", "## S\nx\n")})
    (vault / "anki-export.toml").write_bytes(text.encode("utf-8", "surrogateescape"))
    result = run_cli("build", vault, "-o", tmp_path / "out")
    assert result.exit_code == 2 and message in result.output, result.output


def test_a_settings_file_linked_from_outside_the_vault_is_refused(
        run_cli: Run, tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "garden", {"N.md": published("/n/", "## S\nx\n")})
    (tmp_path / "secret.toml").write_text('deck = "SECRET"\n')
    (vault / "anki-export.toml").symlink_to(tmp_path / "secret.toml")
    result = run_cli("build", vault, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "anki-export.toml: links to" in result.output and "--config" in result.output
