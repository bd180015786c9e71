"""Incremental builds give exactly what a fresh build gives, and skip all work when nothing
changed: the render cache must never serve a stale card."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from anki_export.cli import cli

from .conftest import published, write_vault


def build(vault: Path, out: Path, *extra: str) -> Result:
    result = CliRunner().invoke(cli, ["build", str(vault), "-o", str(out), *extra],
                                env={"SOURCE_DATE_EPOCH": "1700000000"},
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def fresh_package(vault: Path, out: Path) -> bytes:
    """The same build without the render cache (the manifest is kept)."""
    (out / ".anki-export-cache").unlink()
    build(vault, out)
    return next(out.glob("*.apkg")).read_bytes()


def vault_in(tmp_path: Path) -> Path:
    return write_vault(tmp_path / "v", {
        "Bone/Lesion.md": published("/lesion/", "## Signs\nSee [[Marrow]] and ![[Marrow#Cells]]\n"),
        "Bone/Marrow.md": published("/marrow/", "## Cells\nplasma cells\n## Fat\nyellow\n"),
        "Bone/Other.md": published("/other/", "## Q\nLinks to [[Lesion]].\n"),
    })


def test_nothing_changed_means_nothing_rewritten(tmp_path: Path) -> None:
    vault, out = vault_in(tmp_path), tmp_path / "out"
    build(vault, out)
    package = next(out.glob("*.apkg"))
    before = package.stat().st_mtime_ns
    again = build(vault, out)
    assert "Nothing changed since the last build" in again.output
    assert package.stat().st_mtime_ns == before
    assert "Read 3 notes" in build(vault, out, "--deck", "New").output  # settings count


def test_cached_rebuild_equals_a_fresh_one_after_edits(tmp_path: Path) -> None:
    vault, out = vault_in(tmp_path), tmp_path / "out"
    build(vault, out)
    # An embedded section changes: the embedding note's card must change with it.
    marrow = vault / "Bone/Marrow.md"
    marrow.write_text(marrow.read_text().replace("plasma cells", "plasma and mast cells"))
    build(vault, out)
    cached = next(out.glob("*.apkg")).read_bytes()
    assert cached == fresh_package(vault, out)

    # A linked note is renamed: links to it show the new name.
    (vault / "Bone/Lesion.md").rename(vault / "Bone/Lytic lesion.md")
    result = build(vault, out)
    assert "broken-link" in result.output  # [[Lesion]] no longer resolves
    assert next(out.glob("*.apkg")).read_bytes() == fresh_package(vault, out)


def test_many_edits_between_unchanged_notes_come_back_in_order(tmp_path: Path) -> None:
    """A rebuild where worker processes render the edited notes (150 or more) while the
    unchanged ones come from the cache, interleaved: the package is byte for byte what a build
    without the cache gives."""
    from anki_export.parallel import PARALLEL_FROM

    count = 2 * PARALLEL_FROM + 20
    notes = {f"Deck{n % 7}/Note {n:03}.md": published(f"/n{n}/", f"## Q{n}\nanswer {n}\n")
             for n in range(count)}
    vault, out = write_vault(tmp_path / "v", notes), tmp_path / "out"
    build(vault, out)
    for n in range(1, count, 2):  # every other note: more than PARALLEL_FROM, interleaved
        (vault / f"Deck{n % 7}/Note {n:03}.md").write_text(
            published(f"/n{n}/", f"## Q{n}\nanswer {n}, edited\n## Extra {n}\nmore\n"),
            encoding="utf-8")
    result = build(vault, out)
    assert f"{count // 2} added, {count // 2} changed" in result.output
    package = next(out.glob("*.apkg")).read_bytes()
    assert fresh_package(vault, out) == package


def test_check_reads_the_build_cache_and_writes_nothing(tmp_path: Path) -> None:
    vault, out = vault_in(tmp_path), tmp_path / "out"
    build(vault, out)
    cache = out / ".anki-export-cache"
    before = cache.read_bytes()
    (vault / "Bone/Other.md").write_text(published("/other/", "## Q\nLinks to [[Nowhere]].\n"))
    result = CliRunner().invoke(cli, ["check", str(vault), "-o", str(out)])
    assert result.exit_code == 0 and "Nowhere" in result.output  # the edited note is rendered
    assert cache.read_bytes() == before
    fresh = tmp_path / "never-built"
    assert CliRunner().invoke(cli, ["check", str(vault), "-o", str(fresh)]).exit_code == 0
    assert not fresh.exists()
