"""One static HTML page with every card, front and back, as Anki will show it.

For checking a vault in a browser before importing: the cards are made exactly as `build` makes
them and filled into the notetype's own templates and CSS. Images point at the files in the vault
(relative to the page), so nothing is copied; a small script toggles Anki's night-mode classes
and marks images that fail to load.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from importlib.resources import files
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from .cards import Card, Pins
from .collect import make_cards
from .config import Config
from .errors import Diagnostic, OutputError
from .files import atomic_path
from .notes import load_vault
from .package import card_ords
from .render import LinkTargets
from .vault import scan_vault, with_plugin_settings

PAGE_NAME = "preview.html"
SECTION = re.compile(r"\{\{#(\w+)\}\}(.*?)\{\{/\1\}\}", re.S)
FIELD = re.compile(r"\{\{(\w+)\}\}")
CLOZE_MARKER = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.S)


@dataclass(frozen=True, slots=True)
class PreviewResult:
    page: Path
    cards: int
    diagnostics: tuple[Diagnostic, ...]


def write_preview(config: Config) -> PreviewResult:
    """Render every card of the vault into `OUTPUT/preview.html` (or into OUTPUT itself when it
    ends in `.html`); problems are reported, not fatal, since the page is where one goes to
    look at them."""
    # `-o look.html` names the page itself; any other `-o` is the folder it goes in.
    page = config.output if config.output.suffix == ".html" else config.output / PAGE_NAME
    config, sr_problems = with_plugin_settings(config)
    index, scan_problems = scan_vault(config.vault)
    vault = load_vault(index, config, (*scan_problems, *sr_problems))
    targets = LinkTargets(index, {note.rel: note for note in vault.notes}, config.site_url,
                          media_src=partial(_file_src, index.root, page.parent))
    cards, card_problems = make_cards(vault, config, targets, Pins())
    diagnostics = (*vault.diagnostics, *card_problems)
    try:
        page.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(page) as tmp:
            tmp.write_text(preview_page(cards, config.vault_name), encoding="utf-8")
    except OSError as e:
        raise OutputError(f"cannot write the preview ({e.strerror or e})", path=page) from e
    return PreviewResult(page, _anki_cards(cards),
                         tuple(sorted(diagnostics, key=lambda d: d.sort_key)))


def _anki_cards(cards: Sequence[Card]) -> int:
    """The cards Anki makes of them, as `build` counts: one per cloze number, two for a
    reversed note (a `Card` here is one Anki note)."""
    return sum(len(card_ords(card.notetype, card.fields)) for card in cards)


def _file_src(root: Path, page_folder: Path, rel: PurePosixPath) -> str:
    """An image's URL from the page: the vault file itself, relative, percent-encoded."""
    path = os.path.relpath((root / rel).resolve(), page_folder.resolve())
    return quote(Path(path).as_posix())


def fill_template(template: str, fields: Mapping[str, str], front_side: str = "") -> str:
    """Anki's template forms that the shipped notetypes use: `{{Field}}`,
    `{{#Field}}…{{/Field}}` (kept only when the field is not empty) and `{{FrontSide}}`."""
    values = {**fields, "FrontSide": front_side}
    shown = SECTION.sub(lambda m: m.group(2) if values.get(m.group(1), "").strip() else "",
                        template)
    return FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), shown)


def preview_page(cards: Sequence[Card], vault_name: str) -> str:
    """The page: the notetypes' CSS once each, then one block per card."""
    css = "\n".join(dict.fromkeys(card.notetype.css for card in cards))
    blocks = "\n".join(_card_block(n, card) for n, card in enumerate(cards, 1))
    title = html.escape(f"{vault_name}: {_anki_cards(cards)} cards")
    return _PAGE.format(title=title, css=css, chrome=_asset("preview.css"), cards=blocks,
                        count=len(cards), script=_asset("preview.js"))


def _card_block(number: int, card: Card) -> str:
    fields = dict(zip(card.notetype.fields, card.fields, strict=True))
    faces = []
    for template in card.notetype.templates:
        if card.notetype.is_cloze:
            for cloze in (ord_ + 1 for ord_ in card_ords(card.notetype, card.fields)):
                front = fill_template(_cloze_side(template.front, fields, cloze, False), fields)
                back = fill_template(_cloze_side(template.back, fields, cloze, True), fields)
                faces += [_face(f"Front c{cloze}", front), _face(f"Back c{cloze}", back)]
            continue
        front = fill_template(template.front, fields)
        back = fill_template(template.back, fields, front)
        faces += [_face("Front", front), _face("Back", back)]
    tags = " ".join(f"<span>{html.escape(t)}</span>" for t in card.tags)
    return (f'<article class="ae-preview-card" id="card-{number}">\n'
            f'<p class="ae-preview-meta"><b>{html.escape(card.deck)}</b> · '
            f"<code>{html.escape(card.source.as_posix())}:{card.line}</code>"
            f'{" · " + tags if tags else ""}</p>\n'
            f'<div class="ae-preview-faces">\n{"".join(faces)}</div>\n</article>')


def _cloze_side(template: str, fields: Mapping[str, str], number: int, back: bool) -> str:
    """`{{cloze:Text}}` as Anki shows card `number`: its cloze hidden (front) or marked (back),
    every other cloze as plain text."""
    def show(match: re.Match[str]) -> str:
        text, hint = match.group(2), match.group(3)
        if int(match.group(1)) != number:
            return text
        shown = text if back else f"[{hint or '...'}]"
        return f'<span class="cloze">{shown}</span>'

    return template.replace("{{cloze:Text}}", CLOZE_MARKER.sub(show, fields["Text"]))


def _asset(name: str) -> str:
    return files("anki_export").joinpath("templates", name).read_text(encoding="utf-8")


def _face(side: str, content: str) -> str:
    return (f'<section class="ae-preview-face"><h2>{side}</h2>\n'
            f'<div class="card">\n{content}\n</div></section>\n')


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>anki-export preview · {title}</title>
<style>
{css}
</style>
<style>
{chrome}
</style>
</head>
<body class="ae-preview" data-cards="{count}">
<header class="ae-preview-bar">
<span><b>{title}</b> · math shows as TeX here, Anki typesets it</span>
<label><input type="checkbox" id="ae-night"> Night mode</label>
</header>
<main>
{cards}
</main>
<script>
{script}
</script>
</body>
</html>
"""
