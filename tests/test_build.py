"""The core pipeline end to end, as a user runs it: a vault on disk, `anki-export build`, and
the package imported into a fresh collection of real Anki."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from .anki_helpers import AnkiCollection
from .conftest import EXAMPLE, published, write_vault

FIXTURE_VAULT = Path(__file__).parent / "fixtures" / "vault"
SAMPLE_VAULT = Path(__file__).parents[1] / "notes"
STUDY_SECTIONS = ["Hallmark", "Pathophysiology", "Major entities", "Etiology", "Diagnostic Workup"]

Run = Callable[..., Result]


def build(run_cli: Run, vault: Path, out: Path, *extra: str) -> Path:
    result = run_cli("build", vault, "-o", out, *extra)
    assert result.exit_code == 0, result.output
    (package,) = out.glob("*.apkg")
    return package


def test_example_like_note_gives_one_card_per_study_section(
        run_cli: Run, anki: AnkiCollection, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    shutil.copytree(FIXTURE_VAULT, vault)
    anki.import_package(build(run_cli, vault, tmp_path / "out"))
    notes = anki.notes()
    questions = sorted(n.fields["Question"] for n in notes)
    assert questions == sorted(f"Myeloma family — {h}" for h in STUDY_SECTIONS)
    by_heading = {n.fields["Question"].split(" — ")[1]: n.fields["Answer"] for n in notes}
    assert "<ol>" in by_heading["Hallmark"] and "Bence-Jones" in by_heading["Hallmark"]
    assert by_heading["Pathophysiology"].count("<li>") == 4
    assert "<li>radiation</li>" in by_heading["Etiology"]  # nested with a tab
    assert "<li>Whole-body low-dose CT</li>" in by_heading["Diagnostic Workup"]  # 4 spaces
    assert "## Not a heading" in by_heading["Diagnostic Workup"]
    assert ">Multiple myeloma<" in by_heading["Major entities"].replace("<li>", ">")
    assert all("[[" not in n.text and "\\|" not in n.text for n in notes)
    assert {n.deck for n in notes} == {"Rad::Multisystem::Myeloma family"}


@pytest.mark.skipif(not EXAMPLE.exists(), reason="../shared/examples is not beside this clone")
def test_the_real_example_note_gives_its_six_sections(
        run_cli: Run, anki: AnkiCollection, tmp_path: Path) -> None:
    vault = tmp_path / "vault"
    (vault / "Rad").mkdir(parents=True)
    shutil.copy(EXAMPLE, vault / "Rad" / EXAMPLE.name)
    anki.import_package(build(run_cli, vault, tmp_path / "out"))
    notes = anki.notes()
    headings = sorted(n.fields["Question"].split(" — ")[1] for n in notes)
    assert headings == sorted([*STUDY_SECTIONS, "Clinical Manifestations"])
    answers = {n.fields["Question"].split(" — ")[1]: n.fields["Answer"] for n in notes}
    assert "Bence-Jones" in answers["Hallmark"] and "<ol>" in answers["Hallmark"]
    assert answers["Pathophysiology"].count("<li>") == 4
    assert all("[[" not in n.text and "\\|" not in n.text for n in notes)


def test_sample_vault_builds_with_decks_mirroring_dg_path(
        run_cli: Run, anki: AnkiCollection, tmp_path: Path) -> None:
    vault = tmp_path / "notes"
    shutil.copytree(SAMPLE_VAULT, vault, ignore=shutil.ignore_patterns("anki-export.lock"))
    log = anki.import_package(build(run_cli, vault, tmp_path / "dist"))
    notes = anki.notes()
    assert len(log.new) == len(notes) >= 30
    assert "Rad::MSK::Bone::Lytic lesions" in {n.deck for n in notes}
    assert all("[[" not in n.text for n in notes)


def test_summary_names_counts_and_the_package(run_cli: Run, tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {
        "A/One.md": published("/a/one/", "## Q1\nx\n## Q2\ny\n"),
        "B/Two.md": published("/b/two/", "## Q3\nz\n"),
        "Draft.md": "## Not published\nx\n",
    })
    result = run_cli("build", vault, "-o", tmp_path / "out")
    assert result.exit_code == 0
    assert "Read 2 notes, wrote 3 cards in 2 decks to" in result.output
    assert "1 note left out" in result.output and "--all" in result.output


def test_plain_vault_with_all(run_cli: Run, anki: AnkiCollection, tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {"Topic/Plain note.md": "# Plain note\n## Q\nA\n"})
    result = run_cli("build", vault, "-o", tmp_path / "out")
    assert "no cards" in result.output and "--all" in result.output
    anki.import_package(build(run_cli, vault, tmp_path / "out", "--all", "--deck", "Mine"))
    (note,) = anki.notes()
    assert note.deck == "Mine::Topic" and note.fields["Question"] == "Plain note — Q"


def test_notes_without_the_forced_level_are_reported_and_auto_splits_them(
        run_cli: Run, anki: AnkiCollection, tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {
        "Deep.md": published("/deep/", "# Deep\n### One\nx\n### Two\ny\n")})
    result = run_cli("build", vault, "-o", tmp_path / "out", "--heading-level", "2")
    assert "Deep.md" in result.output and "--heading-level 3" in result.output
    assert "1 note gave no card" in result.output
    anki.import_package(build(run_cli, vault, tmp_path / "out"))
    assert sorted(n.fields["Question"] for n in anki.notes()) == ["Deep — One", "Deep — Two"]


def test_a_home_page_is_counted_apart_from_notes_a_warning_explains(
        run_cli: Run, tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {
        "Home.md": published("/", "[[Deep]] · [[Plain]]\n", dg_home="true"),
        "Deep.md": published("/deep/", "# Deep\n### One\nx\n"),
        "Plain.md": published("/plain/", "## Q\nA\n")})
    result = run_cli("build", vault, "-o", tmp_path / "out")
    assert "gave no card (the warnings" not in result.output
    assert "1 navigation page (a home page, or only links) gave no card, as meant: " \
        f"{(vault / 'Home.md').as_posix()}" in result.output
    forced = run_cli("build", vault, "-o", tmp_path / "out", "--heading-level", "2")
    assert "Deep.md:4: warning: note gives no card" in forced.output
    assert "1 note gave no card (the warnings above say why" in forced.output
    assert "1 navigation page" in forced.output


def test_guids_are_stable_across_rebuilds_and_moves_and_follow_the_permalink(
        run_cli: Run, new_anki: Callable[[], AnkiCollection], tmp_path: Path) -> None:
    note = published("/rad/bone/lesion/", "## Hallmark\nx\n## Imaging\ny\n")
    vault = write_vault(tmp_path / "v", {"Rad/Bone/Lesion.md": note})

    def guids(tag: str) -> set[str]:
        """GUIDs of the live cards (a vanished section is shipped once more, tagged removed)."""
        col = new_anki()
        col.import_package(build(run_cli, vault, tmp_path / tag))
        return {n.guid for n in col.notes() if "anki-export::removed" not in n.tags}

    first = guids("1")
    assert guids("2") == first
    (vault / "Elsewhere").mkdir()
    (vault / "Rad/Bone/Lesion.md").rename(vault / "Elsewhere/Renamed.md")
    assert guids("3") == first
    (vault / "Elsewhere/Renamed.md").write_text(note.replace("/lesion/", "/lesion-2/"))
    assert guids("4").isdisjoint(first)


def test_reimporting_an_unchanged_rebuild_adds_nothing(
        run_cli: Run, anki: AnkiCollection, tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", "## A\nx\n## B\ny\n")})
    anki.import_package(build(run_cli, vault, tmp_path / "out"))
    time.sleep(1.05)  # a later clock must not make unchanged notes look newer
    log = anki.import_package(build(run_cli, vault, tmp_path / "out"))
    assert len(anki.notes()) == 2 and not log.new and not log.updated


def test_duplicate_permalinks_keep_every_card_and_name_every_file(
        run_cli: Run, anki: AnkiCollection, tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {
        "A/Home.md": published("/home/", "## Q\nfrom A\n"),
        "B/Home.md": published("/home/", "## Q\nfrom B\n"),
    })
    result = run_cli("build", vault, "-o", tmp_path / "out")
    assert "A/Home.md" in result.output and "B/Home.md" in result.output
    anki.import_package(next((tmp_path / "out").glob("*.apkg")))
    assert sorted(n.fields["Answer"] for n in anki.notes()) == ["<p>from A</p>", "<p>from B</p>"]


def test_hidden_folders_are_skipped(run_cli: Run, anki: AnkiCollection, tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {
        "N.md": published("/n/", "## A\nx\n"),
        ".trash/Old.md": published("/old/", "## B\ny\n"),
        ".obsidian/x.md": published("/x/", "## C\nz\n"),
    })
    anki.import_package(build(run_cli, vault, tmp_path / "out"))
    assert [n.fields["Question"] for n in anki.notes()] == ["N — A"]


def test_version_and_help(run_cli: Run) -> None:
    assert "anki-export, version" in run_cli("--version").output
    assert "Example" in run_cli("build", "--help").output


def test_new_cards_come_in_reading_order(run_cli: Run, anki: AnkiCollection,
                                         tmp_path: Path) -> None:
    sections = "".join(f"## Step {i}\ndetail {i}\n" for i in range(1, 9))
    vault = write_vault(tmp_path / "v", {"Topic/Steps.md": published("/steps/", sections)})
    anki.import_package(build(run_cli, vault, tmp_path / "out"))
    anki.col.decks.select(anki.col.decks.id_for_name("Topic"))
    queue = anki.col.sched.get_queued_cards(fetch_limit=20).cards
    shown = [anki.col.get_card(c.card.id).note()["Question"] for c in queue]
    assert shown == [f"Steps — Step {i}" for i in range(1, 9)]


def test_folder_note_lands_in_its_folder_deck_without_a_repeated_breadcrumb(
        run_cli: Run, anki: AnkiCollection, tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {
        "Rad/Myeloma/Myeloma.md": published("/rad/myeloma/", "## Hallmark\nclonal\n"),
        "Rad/Myeloma/MGUS.md": published("/rad/myeloma/mgus/", "## Hallmark\nsmall clone\n"),
    })
    anki.import_package(build(run_cli, vault, tmp_path / "out"))
    crumbs = {n.fields["Question"]: (n.deck, n.fields["Breadcrumb"]) for n in anki.notes()}
    assert crumbs == {"Myeloma — Hallmark": ("Rad::Myeloma", "Rad › Myeloma"),
                      "MGUS — Hallmark": ("Rad::Myeloma", "Rad › Myeloma › MGUS")}


def test_math_reaches_anki_as_obsidian_shows_it(run_cli: Run, anki: AnkiCollection,
                                               tmp_path: Path) -> None:
    """Display math written inside a line, a `$$` block holding a blank line, and math in a
    heading arrive as MathJax with their TeX intact, never read as Markdown."""
    vault = write_vault(tmp_path / "v", {"Physics/CT.md": published("/physics/ct/", r"""
        ## Scale
        The number: $$H = a_1 * b_2 * c_3$$which puts air at $-1000$ and _this_ in italics.

        ## Mixture
        A voxel of two tissues,

        $$
        \bar{\mu} = f_1 * \mu_1

        \text{with } 0 \le f_1
        $$

        so a rim reads soft.

        ## Energy $$E = m_0 * c^2$$
        Rest energy.
        """)})
    anki.import_package(build(run_cli, vault, tmp_path / "out"))
    answers = {n.question: n.fields["Answer"] for n in anki.notes()}
    scale, mixture, energy = (next(a for q, a in answers.items() if word in q)
                              for word in ("Scale", "Mixture", "Energy"))
    assert r"\[H = a_1 * b_2 * c_3\]" in scale and r"\(-1000\)" in scale
    assert "<em>this</em>" in scale and scale.count("<em>") == 1
    assert mixture.count(r"\[") == 1
    assert "\\bar{\\mu} = f_1 * \\mu_1\n\n\\text{with } 0 \\le f_1\\]" in mixture
    assert r"\[E = m_0 * c^2\]" in next(q for q in answers if "Energy" in q)
    assert "Rest energy" in energy
    assert not any("$$" in q + a for q, a in answers.items())
