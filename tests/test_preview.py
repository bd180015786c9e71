"""`anki-export preview`: every card, front and back, on one page a browser can open.

The browser test renders the page in headless Chromium (Debian's `chromium`; `.ci/run` installs
it) and saves screenshots, light and night, desktop and phone, to `test-artifacts/`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import pytest
from click.testing import Result

from anki_export.config import Config
from anki_export.preview import fill_template, write_preview

from .conftest import published

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FIXTURE_VAULT = Path(__file__).parent / "fixtures" / "render" / "vault"

SHOWCASE = """\
## What does a callout look like?
> [!warning] Radiology pitfall
> A **lytic** lesion over 40 is a metastasis or myeloma until proven otherwise.

> [!tip]- Folded mnemonic
> FEGNOMASHIC

- ==highlighted== point with a #pearl tag and a link to [[Topic/Sibling\\|the sibling]]
- math $\\kappa / \\lambda > 100$ and a price of $5 %%private note%%
	- nested item
## Table, image and code
| Finding | MM | Mets |
|---|---|---|
| Skull | punched-out | variable |
| Spine | [[Other note\\|other]] | pedicle |

![[scan.png|48]]

```python
def flc_ratio(kappa, light=1.0):
    return kappa / light  # involved / uninvolved
```
## Embeds, tasks and footnotes
![[Topic/Sibling#Summary]]

- [x] read the note[^1]
- [ ] make the cards

$$
\\text{ratio} = \\frac{\\kappa}{\\lambda}
$$

[^1]: Footnotes are kept at the end.
"""


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    root = tmp_path / "garden"
    shutil.copytree(FIXTURE_VAULT, root)
    (root / "Showcase.md").write_text(published("/showcase/", SHOWCASE), encoding="utf-8")
    return root


def test_fill_template_knows_fields_conditionals_and_front_side() -> None:
    template = "{{FrontSide}}<hr>{{Answer}}{{#Source}}<i>{{Source}}</i>{{/Source}}{{#X}}x{{/X}}"
    fields = {"Answer": "A", "Source": "S", "X": " "}
    assert fill_template(template, fields, "F") == "F<hr>A<i>S</i>"
    assert fill_template("{{#Source}}<i>{{Source}}</i>{{/Source}}", {"Source": ""}) == ""


def test_preview_shows_every_card_with_images_from_the_vault(vault: Path, tmp_path: Path) -> None:
    result = write_preview(Config(vault=vault, output=tmp_path / "out"))
    page = result.page.read_text(encoding="utf-8")
    assert result.page == tmp_path / "out" / "preview.html"
    assert result.cards == page.count('class="ae-preview-card"') == 9
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert sources
    for src in sources:
        assert (result.page.parent / unquote(src)).resolve().is_file(), src
    assert ".callout" in page and 'id="ae-night"' in page
    cards = page[page.index("<main>") :]
    assert "[[" not in re.sub(r"<(pre|code)\b.*?</\1>", "", cards, flags=re.S)


def test_preview_command_writes_the_page(run_cli: Callable[..., Result], vault: Path,
                                         tmp_path: Path) -> None:
    result = run_cli("preview", vault, "-o", tmp_path / "look")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "look" / "preview.html").is_file()
    assert "Wrote 9 cards to" in result.output


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (Debian: apt-get install chromium)")
def test_preview_renders_in_a_browser(vault: Path, tmp_path: Path) -> None:
    page = write_preview(Config(vault=vault, output=tmp_path / "out")).page
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.count('class="ae-preview-card"') == 9
    assert 'class="callout"' in dom and "hl-k" in dom
    assert re.search(r"<img[^>]*ae-preview-broken", dom) is None, "an image did not load"
    assert 'class="ae-preview nightMode night_mode"' in _chromium(
        tmp_path, "--dump-dom", page.as_uri() + "#night")
    ARTIFACTS.mkdir(exist_ok=True)
    for device, size in (("desktop", "1280,2200"), ("phone", "390,2600")):
        for mode, fragment in (("light", ""), ("night", "#night")):
            shot = ARTIFACTS / f"preview-{device}-{mode}.png"
            shot.unlink(missing_ok=True)
            _chromium(tmp_path, f"--window-size={size}", f"--screenshot={shot}",
                      page.as_uri() + fragment)
            assert shot.stat().st_size > 10_000, shot


def _chromium(tmp_path: Path, *args: str) -> str:
    assert CHROMIUM is not None
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}",
               "--virtual-time-budget=2000", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def test_preview_shows_each_cloze_card_hidden_and_revealed(tmp_path: Path) -> None:
    vault = tmp_path / "clozes"
    vault.mkdir()
    (vault / "C.md").write_text(published(
        "/c/", "## Facts\nThe ==marrow== makes blood; {{c3::kappa::light}} chains.\n",
        anki_cloze="highlights"))
    result = write_preview(Config(vault=vault, output=tmp_path / "out"))
    page = result.page.read_text()
    assert page.count("<h2>Front c") == 2 and page.count("<h2>Back c") == 2
    assert '<span class="cloze">[light]</span>' in page
    assert '<span class="cloze">kappa</span>' in page and "{{cloze:" not in page


def test_preview_counts_cards_as_the_build_does(run_cli: Callable[..., Result],
                                                tmp_path: Path) -> None:
    vault = tmp_path / "clozes"
    vault.mkdir()
    (vault / "C.md").write_text(published(
        "/c/", "## Facts\n{{c1::Kappa}} and {{c2::lambda}} chains.\n## Plain\nx\n"))
    built = run_cli("build", vault, "-o", tmp_path / "dist")
    assert "wrote 3 cards" in built.output
    assert "Wrote 3 cards to" in run_cli("preview", vault, "-o", tmp_path / "p.html").output
    assert "clozes: 3 cards" in (tmp_path / "p.html").read_text()


def test_preview_output_may_name_the_page(run_cli: Callable[..., Result], vault: Path,
                                          tmp_path: Path) -> None:
    result = run_cli("preview", vault, "-o", tmp_path / "look.html")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "look.html").read_text().startswith("<!DOCTYPE html>")
