"""How notes split into cards, end to end, in the two forms a garden comes in: the vault's
(YAML frontmatter, ` ^id` block ids) and the one the Digital Garden plugin publishes to the
garden's repository (one line of JSON frontmatter, each ` ^id` rewritten as a `{ #id}` line).
Each vault is built with the command line and imported into real Anki."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from .anki_helpers import AnkiCollection
from .conftest import write_vault

Run = Callable[..., Result]

SAMPLE_VAULT = Path(__file__).parents[1] / "notes"
SAMPLE_CARDS = Path(__file__).parent / "fixtures" / "sample-vault-cards.json"

NOTES = {
    "Rad/Myeloma.md": ("/rad/myeloma/", """\
        Malignant clonal proliferation of plasma cells. ^definition

        ## Classic radiograph finding ^classic
        Punched-out lytic lesions; the area grows as $r ^2$ with their radius.

        ## Imaging workup
        Whole-body low-dose CT.
        """),
    "Rad/Physics/CT attenuation.md": ("/rad/physics/ct-attenuation/", """\
        # CT attenuation

        ### Hounsfield scale
        Water is zero.

        ### Window settings
        Brain: level 40, width 80.
        """),
    "Rad/Physics/MRI relaxation.md": ("/rad/physics/mri-relaxation/", """\
        # Definition
        The return of the magnetisation to equilibrium.

        # T1 recovery
        Fat is bright on T1.

        # T2 decay
        Fluid is bright on T2.
        """),
    "Home.md": ("/", """\
        Welcome. Start with one of these:
        - [[Rad/Myeloma|Myeloma]]
        - [[Rad/Physics/CT attenuation|CT attenuation]]
        """),
}
QUESTIONS = {
    "Myeloma", "Myeloma — Classic radiograph finding", "Myeloma — Imaging workup",
    "CT attenuation — Hounsfield scale", "CT attenuation — Window settings",
    "MRI relaxation — Definition", "MRI relaxation — T1 recovery", "MRI relaxation — T2 decay"}


def vault_form(rel: str, permalink: str, body: str) -> str:
    home = "dg-home: true\n" if permalink == "/" else ""
    return (f"---\ndg-publish: true\ndg-path: {rel}\npermalink: {permalink}\n{home}---\n"
            + body)


def published_form(rel: str, permalink: str, body: str) -> str:
    """What the plugin pushes: JSON frontmatter, and every ` ^id` as `\\n{ #id}\\n` (its rule)."""
    meta = {"dg-publish": True, "dg-path": rel, "permalink": permalink}
    if permalink == "/":
        meta.update({"dg-home": True, "tags": ["gardenEntry"]})
    body = re.sub(r" \^([\w-]+)", lambda m: f"\n{{ #{m.group(1)}}}\n", body)
    return f"---\n{json.dumps(meta, separators=(',', ':'))}\n---\n{body}"


def garden(root: Path, form: Callable[[str, str, str], str]) -> Path:
    return write_vault(root, {rel: form(rel, permalink, textwrap.dedent(body))
                              for rel, (permalink, body) in NOTES.items()})


def build(run_cli: Run, vault: Path, out: Path, *extra: str) -> Path:
    result = run_cli("build", vault, "-o", out, *extra)
    assert result.exit_code == 0, result.output
    (package,) = out.glob("*.apkg")
    return package


def cards(run_cli: Run, anki: AnkiCollection, vault: Path, out: Path,
          *extra: str) -> dict[str, tuple[str, str]]:
    anki.import_package(build(run_cli, vault, out, *extra))
    return {n.guid: (n.question, n.fields["Answer"]) for n in anki.notes()}


def test_the_same_notes_give_the_same_cards_in_vault_and_published_form(
        run_cli: Run, new_anki: Callable[[], AnkiCollection], tmp_path: Path) -> None:
    published = new_anki()
    vault = cards(run_cli, new_anki(), garden(tmp_path / "v", vault_form), tmp_path / "o1")
    repo = cards(run_cli, published, garden(tmp_path / "p", published_form), tmp_path / "o2")
    assert repo == vault  # the same GUIDs, questions and answers
    assert {question for question, _ in repo.values()} == QUESTIONS
    answers = dict(repo.values())
    assert answers["Myeloma"] == "<p>Malignant clonal proliferation of plasma cells.</p>"
    assert r"\(r ^2\)" in answers["Myeloma — Classic radiograph finding"]  # math whole again
    assert not any("{ #" in n.text or "^classic" in n.text for n in published.notes())
    assert all(n.tags == () for n in published.notes())  # no block id became a tag
    assert {n.deck for n in published.notes()} == {"Rad", "Rad::Physics"}


def test_a_pinned_heading_reworded_in_published_form_keeps_its_card(
        run_cli: Run, anki: AnkiCollection, tmp_path: Path) -> None:
    repo = garden(tmp_path / "p", published_form)
    anki.import_package(build(run_cli, repo, tmp_path / "out"))
    before = {n.question: n.guid for n in anki.notes()}
    note = repo / "Rad" / "Myeloma.md"
    note.write_text(note.read_text().replace("## Classic radiograph finding",
                                             "## Typical radiograph"))
    anki.import_package(build(run_cli, repo, tmp_path / "out"))
    after = {n.question: n.guid for n in anki.notes()}
    assert len(after) == len(before)
    assert after["Myeloma — Typical radiograph"] == before["Myeloma — Classic radiograph finding"]


def test_the_intro_and_heading_levels_from_the_config_file_and_the_command_line(
        run_cli: Run, new_anki: Callable[[], AnkiCollection], tmp_path: Path) -> None:
    repo = garden(tmp_path / "p", published_form)
    (repo / "anki-export.toml").write_text(
        'intro = "skip"\n\n[heading-level-by-folder]\n"Rad/Physics" = 3\n')
    configured = cards(run_cli, new_anki(), repo, tmp_path / "o1")
    assert {question for question, _ in configured.values()} == {
        "Myeloma — Classic radiograph finding", "Myeloma — Imaging workup",
        "CT attenuation — Hounsfield scale", "CT attenuation — Window settings"}
    options = cards(run_cli, new_anki(), repo, tmp_path / "o2", "--intro", "card",
                    "--heading-level", "auto")  # the command line wins over the file
    assert {question for question, _ in options.values()} == QUESTIONS
    assert configured.keys() < options.keys()  # the same cards keep their GUIDs
    bad = run_cli("build", repo, "--heading-level", "7")
    assert bad.exit_code == 2 and "--heading-level" in bad.output


def test_math_in_a_heading_or_a_heading_title_is_math_in_the_question(
        run_cli: Run, anki: AnkiCollection, tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {"Relaxation.md": vault_form(
        "Relaxation.md", "/relaxation/", "# The $T$ times\n\n## The $T_1$ time\nFat.\n")})
    anki.import_package(build(run_cli, vault, tmp_path / "out"))
    (question,) = [n.question for n in anki.notes()]
    assert question == r"The \(T\) times — The \(T_1\) time"


def test_the_sample_vault_keeps_every_card_and_its_guid(
        run_cli: Run, anki: AnkiCollection, tmp_path: Path) -> None:
    """Every card of the sample vault keeps its GUID and question
    (tests/fixtures/sample-vault-cards.json): the cards its notes, written for the `##` rule,
    gave before `auto`, and the intro cards `auto` added."""
    vault = tmp_path / "notes"
    shutil.copytree(SAMPLE_VAULT, vault, ignore=shutil.ignore_patterns("anki-export.lock"))
    anki.import_package(build(run_cli, vault, tmp_path / "dist"))
    now = {n.guid: n.question for n in anki.notes()}
    assert now == json.loads(SAMPLE_CARDS.read_text(encoding="utf-8"))
