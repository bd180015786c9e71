"""A hostile garden repository built by CI, past the input edge's own checks: links in place
of the repository's folders, the plugin settings and review comments it carries, its own
settings file, and what a restored cache or a committed output folder may hold in its place.
Each test builds a vault in tmp_path through the CLI; packages are imported into real Anki.
"""

from __future__ import annotations

import sqlite3
import zipfile
from contextlib import closing
from pathlib import Path

import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest
from anki.import_export_pb2 import IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER as IF_NEWER
from click.testing import CliRunner, Result

from anki_export.cli import cli

from .anki_helpers import AnkiCollection
from .conftest import published, write_vault

SECRET = b"S3CRET-4a7c1e"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
       b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18"
       b"\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
SR_SETTINGS = ".obsidian/plugins/obsidian-spaced-repetition/data.json"


def build(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["build", *map(str, args)], catch_exceptions=False)


def shipped(out: Path) -> bytes:
    return b"".join(zipfile.ZipFile(p).read(n) for p in out.glob("*.apkg")
                    for n in zipfile.ZipFile(p).namelist())


def test_garden_folders_linked_out_of_the_repository_are_not_read(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "notes").mkdir(parents=True)
    (elsewhere / "secret.png").write_bytes(PNG + SECRET)
    (elsewhere / "notes" / "S.md").write_text(published("/s/", "## S\nprivate\n"))
    repo = write_vault(tmp_path / "garden", {
        "src/site/notes/A.md": published("/a/", "## A\n![](/img/user/secret.png)\n")})
    (repo / "src/site/img").mkdir()
    (repo / "src/site/img/user").symlink_to(elsewhere)
    out = tmp_path / "out"
    result = build(repo, "-o", out)
    assert result.exit_code == 0, result.output
    assert "the images folder links to" in result.output and "[not-read]" in result.output
    assert SECRET not in shipped(out)

    linked = tmp_path / "linked"
    (linked / "src/site").mkdir(parents=True)
    (linked / "src/site/notes").symlink_to(elsewhere / "notes")
    for vault in (linked, linked / "src/site/notes"):  # the action names the notes folder
        result = build(vault, "-o", tmp_path / "out2")
        assert result.exit_code == 2, result.output
        assert "the notes folder links to" in result.output
    assert not (tmp_path / "out2").exists()


def test_plugin_settings_nested_too_deep_or_linked_out_are_a_warning(tmp_path: Path) -> None:
    (tmp_path / "outside.json").write_text('{"settings": {"singleLineCardSeparator": "="}}')
    vault = write_vault(tmp_path / "v", {"N.md": "#flashcards\n\nQ::A\n",
                                         SR_SETTINGS: "[" * 100_000 + "]" * 100_000})
    result = build(vault, "--all", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert f"v/{SR_SETTINGS}: warning: " in result.output  # named once from the vault
    assert "nested too deeply" in result.output
    (vault / SR_SETTINGS).unlink()
    (vault / SR_SETTINGS).symlink_to(tmp_path / "outside.json")
    result = build(vault, "--all", "-o", tmp_path / "out")
    assert result.exit_code == 0 and "links out of the vault" in result.output


def test_absurd_review_comments_import_as_new_or_within_ankis_ranges(tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {"N.md": """\
        #flashcards

        Huge::numbers
        <!--SR:!2030-01-01,99999999999999999999,99999999999999-->

        Below::zero
        <!--SR:!2030-01-01,-5,-3-->

        Far::future
        <!--SR:!9999-12-31,5,250-->

        Before::1970
        <!--SR:!1900-01-01,5,250-->

        Not::finite
        <!--SR:!fsrs,2030-01-01T00:00:00Z,inf,nan,nan,2,1,0,0,x-->

        Negative::count
        <!--SR:!fsrs,2030-01-01T00:00:00Z,5,3,5,2,-1,-9,0,x-->
        """})
    result = build(vault, "--all", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    col = Collection(str(tmp_path / "c.anki2"))
    col.import_anki_package(ImportAnkiPackageRequest(
        package_path=str(tmp_path / "out" / "v.apkg"), options=ImportAnkiPackageOptions(
            with_scheduling=True, with_deck_configs=False, merge_notetypes=False,
            update_notes=IF_NEWER, update_notetypes=IF_NEWER)))
    states = {col.get_card(c).note().fields[0]: col.get_card(c) for c in col.find_cards("")}
    reviewed = {q: (c.ivl, c.factor) for q, c in states.items() if c.type == 2}
    assert reviewed == {"<p>Huge</p>": (36500, 10_000), "<p>Below</p>": (1, 1300)}
    assert len(states) == 6
    assert col.fix_integrity()[1]
    col.close()


@pytest.mark.parametrize("form", ["{title.__class__.__mro__} {heading}",
                                  "{heading:>1500000000}{heading}", "{heading!r}",
                                  "{heading:{title}}", "{{heading}}"])
def test_a_question_format_is_only_title_and_heading_as_written(tmp_path: Path,
                                                                form: str) -> None:
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", "## H\nbody\n"),
                                         "anki-export.toml": f"question-format = '{form}'\n"})
    result = build(vault, "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "anki-export.toml:1: 'question-format' must be" in result.output


def test_a_settings_file_found_in_the_vault_keeps_its_paths_near_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    (repo / ".git" / "hooks").mkdir(parents=True)
    vault = write_vault(repo / "notes", {"N.md": published("/n/", "## H\nbody\n")})
    for key, value in [("manifest", "../.git/hooks/pre-commit"),
                       ("manifest", "../../outside.lock"), ("output", "../../out"),
                       ("vault", "../..")]:
        (vault / "anki-export.toml").write_text(f'{key} = "{value}"\n')
        monkeypatch.chdir(vault)  # found there; the vault and output not named
        result = build(*(() if key in ("output", "vault") else (vault, "-o", repo / "dist")))
        assert result.exit_code == 2, result.output
        assert f"'{key}' leads to" in result.output and "not point there" in result.output
    assert not any((repo / ".git" / "hooks").iterdir())
    assert {p.name for p in tmp_path.iterdir()} == {"repo"}
    # the command line chooses freely, the file's own value given way to
    (vault / "anki-export.toml").write_text('manifest = "../../outside.lock"\n')
    result = build(vault, "-o", repo / "dist", "--manifest", tmp_path / "chosen.lock")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "chosen.lock").exists()


def test_a_cache_naming_the_cli_module_is_refused_not_run(tmp_path: Path,
                                                         anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", "## H\nbody\n")})
    out = tmp_path / "out"
    assert build(vault, "-o", out).exit_code == 0
    poisoned = b"canki_export.__main__\nmain\n."  # a look-up that imports, so runs, the CLI
    (cache,) = (out / ".anki-export-cache").glob("*.sqlite")
    with closing(sqlite3.connect(cache)) as db, db:
        db.execute("UPDATE notes SET data = ?", (poisoned,))
    (out / "v.apkg").unlink()  # built again, from the cache
    result = build(vault, "-o", out)
    assert result.exit_code == 0, result.output
    anki.import_package(out / "v.apkg")
    assert ["<p>body</p>" in n.text for n in anki.notes()] == [True]


def test_links_in_the_cache_folder_are_never_followed(tmp_path: Path) -> None:
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", "## H\nbody\n")})
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "work-precious").mkdir(parents=True)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".anki-export-cache").symlink_to(elsewhere)  # a restored cache, or a commit
    assert build(vault, "-o", out).exit_code == 0
    assert [p.name for p in elsewhere.iterdir()] == ["work-precious"]
    lock = out / ".anki-export-cache" / "build.lock"
    lock.unlink()
    lock.symlink_to(tmp_path / "created-elsewhere")
    assert build(vault, "-o", out).exit_code == 0
    assert not (tmp_path / "created-elsewhere").exists()
