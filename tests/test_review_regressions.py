"""Regressions found in review: each reproduces a way a rebuild went wrong for a user."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from anki_export.build import build as run_build
from anki_export.cli import cli
from anki_export.config import Config

from .anki_helpers import AnkiCollection, package_content
from .conftest import published, write_vault

DAY = 24 * 3600


def build(vault: Path, out: Path, at: int = 1_700_000_000) -> Result:
    return CliRunner().invoke(cli, ["build", str(vault), "-o", str(out)],
                              env={"SOURCE_DATE_EPOCH": str(at)}, catch_exceptions=False)


def package(out: Path) -> Path:
    return next(out.glob("*.apkg"))


def same_as_fresh(vault: Path, out: Path, at: int) -> bool:
    """A cached rebuild holds what a build without the render cache holds."""
    fresh = out.parent / (out.name + "-fresh")
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(out, fresh)
    shutil.rmtree(fresh / ".anki-export-cache")
    build(vault, out, at)
    build(vault, fresh, at)
    return package_content(package(out)) == package_content(package(fresh))


def test_two_notes_with_the_same_text_keep_their_own_cards(tmp_path: Path) -> None:
    text = "---\ndg-publish: true\n---\n## Summary\nTODO\n"
    vault = write_vault(tmp_path / "v", {"Cardio/Overview.md": text, "Neuro/Overview.md": text})
    out = tmp_path / "out"
    assert build(vault, out).exit_code == 0
    (vault / "Cardio/Overview.md").touch()
    again = build(vault, out, 1_700_000_100)
    assert again.exit_code == 0 and "wrote 2 cards" in again.output


def test_an_embedded_note_with_a_dot_in_its_name_updates_the_embedding_card(
        tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {
        "Main.md": published("/main/", "## Who\n![[Dr. Smith]]\n"),
        "Dr. Smith.md": published("/dr-smith/", "## Bio\nfirst words\n"),
    })
    out = tmp_path / "out"
    build(vault, out)
    (vault / "Dr. Smith.md").write_text(published("/dr-smith/", "## Bio\nsecond words\n"))
    assert same_as_fresh(vault, out, 1_700_000_100)


def test_an_image_edited_in_place_reaches_anki(tmp_path: Path, anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", "## Scan\n![[scan.png]]\n")})
    (vault / "scan.png").write_bytes(b"\x89PNG first")
    out = tmp_path / "out"
    build(vault, out)
    anki.import_package(package(out))
    (vault / "scan.png").write_bytes(b"\x89PNG second, edited")
    result = build(vault, out, 1_700_000_100)
    assert "1 changed" in result.output
    log = anki.import_package(package(out))
    assert len(log.updated) == 1
    images = {p.read_bytes() for p in Path(anki.col.media.dir()).iterdir()}
    assert b"\x89PNG second, edited" in images


def test_a_heading_that_starts_with_a_caret_is_not_a_pin(tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {
        "Shell.md": published("/shell/", "## ^C to interrupt\nstops the job\n"),
        "Other.md": published("/other/", "## Q\nA\n"),
    })
    out = tmp_path / "out"
    build(vault, out)
    for at in (1, 2, 3):
        (vault / "Other.md").write_text(published("/other/", f"## Q\nA{at}\n"))
        result = build(vault, out, 1_700_000_000 + at * 100)
        assert "0 added, 1 changed, 0 removed" in result.output


def test_pinning_the_old_wording_again_after_a_pinned_rename(tmp_path: Path) -> None:
    note = tmp_path / "v" / "N.md"
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", "## Hallmark\nx\n")})
    out = tmp_path / "out"
    steps = ["## Hallmark ^hallmark\nx\n", "## Key finding ^hallmark\nx\n",
             "## Key finding ^hallmark\nx\n## Hallmark ^hallmark2\ny\n"]
    build(vault, out)
    for i, body in enumerate(steps, 1):
        note.write_text(published("/n/", body))
        assert build(vault, out, 1_700_000_000 + i * 100).exit_code == 0


def test_a_heading_named_like_a_deduplicated_one(tmp_path: Path) -> None:
    body = "## Step\na\n## Step\nb\n## Step~2\nc\n"
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", body)})
    result = build(vault, tmp_path / "out")
    assert result.exit_code == 0 and "wrote 3 cards" in result.output


def test_a_removed_section_expires_even_when_nothing_else_changed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, anki: AnkiCollection) -> None:
    """Nightly builds without SOURCE_DATE_EPOCH: the clock moves, the files do not."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", "## A\nx\n## B\ny\n")})
    config = Config(vault=vault, output=tmp_path / "out")
    start = 1_700_000_000
    run_build(config, now=start)
    write_vault(vault, {"N.md": published("/n/", "## A\nx\n")})  # saved long before
    changes = run_build(config, now=start + DAY).changes
    assert changes is not None and len(changes.removed) == 1
    assert run_build(config, now=start + 2 * DAY).up_to_date
    late = run_build(config, now=start + 41 * DAY)
    assert not late.up_to_date and late.cards == 1
    anki.import_package(package(tmp_path / "out"))
    assert [n.question for n in anki.notes()] == ["N — A"]  # the removed B is shipped no more


def test_a_copy_of_a_note_does_not_retire_the_original_cards(tmp_path: Path) -> None:
    note = published("/myeloma/", "## Hallmark\nx\n## Workup\ny\n")
    vault = write_vault(tmp_path / "v", {"Myeloma.md": note})
    out = tmp_path / "out"
    build(vault, out)
    (vault / "Myeloma copy.md").write_text(note)
    result = build(vault, out, 1_700_000_100)
    assert "duplicate-permalink" in result.output
    assert "2 added, 0 changed, 0 removed, 2 unchanged" in result.output


def test_unpublishing_the_last_note_retires_its_cards(tmp_path: Path,
                                                     anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", "## A\nx\n")})
    out = tmp_path / "out"
    build(vault, out)
    anki.import_package(package(out))
    (vault / "N.md").write_text('---\n{"dg-publish":false,"permalink":"/n/"}\n---\n## A\nx\n')
    result = build(vault, out, 1_700_000_100)
    assert "1 removed" in result.output
    anki.import_package(package(out))
    (note,) = anki.notes()
    assert "anki-export::removed" in note.tags


def test_a_damaged_manifest_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", "## A\nx\n")})
    out = tmp_path / "out"
    build(vault, out)
    lock = out / "anki-export.lock"
    lock.write_text(lock.read_text().replace('"digest"', '"digestive"'))
    (vault / "N.md").write_text(published("/n/", "## A\ny\n"))
    result = build(vault, out, 1_700_000_100)
    assert result.exit_code == 1 and "anki-export.lock" in result.output
    assert "the build manifest is damaged" in result.output


def test_question_formats_with_attribute_or_index_access_are_usage_errors(
        tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", "## A\nx\n")})
    for fmt in ("{heading.x}", "{heading[a]}"):
        result = CliRunner().invoke(cli, ["build", str(vault), "--question-format", fmt])
        assert result.exit_code == 2 and "--question-format" in result.output


def test_noncharacters_in_a_note_are_dropped(tmp_path: Path) -> None:
    body = "## S\nx \ufdd0#5\ufdd1 and {{c1::y}}\n"
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", body)})
    result = build(vault, tmp_path / "out")
    assert result.exit_code == 0, result.output


def test_footnotes_and_link_references_defined_elsewhere_in_the_note(
        tmp_path: Path, anki: AnkiCollection) -> None:
    body = ("## Hallmark\nLytic lesions[^1], see [the guide][guide].\n"
            "## References\n[^1]: Smith 2020.\n[guide]: https://example.org/guide\n")
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", body)})
    build(vault, tmp_path / "out")
    anki.import_package(package(tmp_path / "out"))
    (note,) = anki.notes()
    answer = note.fields["Answer"]
    assert "Smith 2020." in answer and 'href="https://example.org/guide"' in answer
    assert "[^1]" not in answer and "[guide]" not in answer


def test_a_warning_after_an_embed_on_the_same_line_names_the_right_line(
        tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {
        "Other.md": published("/other/", "# Other\n\n## A\none\n\n## B\ntwo\n"),
        "N.md": published("/n/", "# N\n\n## H\n![[Other]] and [[Missing]]\n"),
    })
    result = CliRunner().invoke(cli, ["check", str(vault)])
    assert "N.md:7: warning:" in result.output and "broken-link" in result.output
