"""Everyday use of the command line: config file, check, init, split, reports, progress."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from .anki_helpers import AnkiCollection
from .conftest import published, write_vault

Run = Callable[..., Result]


@pytest.fixture
def vault(tmp_path: Path) -> Path:
    return write_vault(tmp_path / "garden", {
        "Rad/Bone/Lesion.md": published("/rad/bone/lesion/", "## Hallmark\nlytic\n## Related\nx\n"),
        "Path/Cells.md": published("/path/cells/", "## Stain\nH&E\n"),
    })


def test_config_file_is_read_and_the_command_line_wins(
        run_cli: Run, vault: Path, tmp_path: Path, anki: AnkiCollection,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "anki-export.toml").write_text(
        'vault = "garden"\noutput = "decks"\ndeck = "FromFile"\ntags = ["from-file"]\n'
        'question-format = "{heading} ({title})"\n')
    assert run_cli("build").exit_code == 0
    anki.import_package(tmp_path / "decks" / "FromFile.apkg")
    assert {n.question for n in anki.notes()} == {"Hallmark (Lesion)", "Stain (Cells)"}
    assert all(n.deck.startswith("FromFile::") and "from-file" in n.tags for n in anki.notes())

    result = run_cli("build", "--deck", "FromCli", "-o", "cli-out")
    assert result.exit_code == 0
    assert (tmp_path / "cli-out" / "FromCli.apkg").exists()


def test_config_inside_the_vault_is_found_and_paths_are_relative_to_it(
        run_cli: Run, vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (vault / "anki-export.toml").write_text('output = "../built"\npackage-name = "garden-deck"\n')
    monkeypatch.chdir(tmp_path)
    assert run_cli("build", vault).exit_code == 0
    assert (tmp_path / "built" / "garden-deck.apkg").exists()


@pytest.mark.parametrize(("text", "message"), [
    ('vault = "x"\ncolour = "red"\n', "anki-export.toml:2: unknown key 'colour'; the keys"),
    ('heading_level = 3\n', "unknown key 'heading_level'; did you mean 'heading-level'?"),
    ('heading-level = 9\n', "anki-export.toml:1: 'heading-level' must be a number from 1 to 6"),
    ('intro = "maybe"\n', "anki-export.toml:1: 'intro' must be \"card\" or \"skip\""),
    ('strict = true\n[heading-level-by-folder]\nPhysics = "deep"\n',
     "anki-export.toml:2: 'heading-level-by-folder' must be a table of vault folders and levels"),
    ('strict = "yes"\n', "anki-export.toml:1: 'strict' must be true or false"),
    ('tags = "one"\n', "anki-export.toml:1: 'tags' must be a list of strings"),
    ('question-format = "{title}"\n', "'question-format' must be a string with {heading}"),
    ('question-format = "{deck}: {heading}"\n', "'question-format' must be a string with"),
    ('deck = \n', "anki-export.toml:1: not valid TOML"),
])
def test_config_errors_name_file_line_and_key(run_cli: Run, vault: Path, text: str,
                                              message: str) -> None:
    (vault / "anki-export.toml").write_text(text)
    result = run_cli("build", vault)
    assert result.exit_code == 2
    assert message in result.output


def test_a_bad_question_format_option_is_a_usage_error(run_cli: Run, vault: Path) -> None:
    result = run_cli("build", vault, "--question-format", "{deck}: {heading}")
    assert result.exit_code == 2 and "--question-format" in result.output


def test_missing_vault_is_a_usage_error(run_cli: Run, tmp_path: Path) -> None:
    result = run_cli("build", tmp_path / "nowhere")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_init_writes_a_starter_config_that_builds(run_cli: Run, vault: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli("init", "garden").exit_code == 0
    text = (tmp_path / "anki-export.toml").read_text()
    assert 'vault = "garden"' in text and "# " in text
    assert run_cli("init", "garden").exit_code == 1  # never overwrites silently
    assert run_cli("build").exit_code == 0
    assert (tmp_path / "dist" / "garden.apkg").exists()


def test_check_prints_file_line_findings_and_exits_by_severity(run_cli: Run, vault: Path) -> None:
    (vault / "Flat.md").write_text(published("/flat/", "## Related\n- see also\n"))
    result = run_cli("check", vault)
    assert result.exit_code == 0
    assert f"{vault.as_posix()}/Flat.md:4: warning: note gives no card" in result.output
    assert "0 errors, 1 warning, 2 cards" in result.output
    assert run_cli("check", vault, "--strict").exit_code == 1
    assert not (vault.parent / "dist").exists()  # check writes nothing

    (vault / "Broken.md").write_text("---\n{\"dg-publish\": tru\n---\n")
    failed = run_cli("check", vault)
    assert failed.exit_code == 1
    assert f"{vault.as_posix()}/Broken.md:2: error: malformed JSON frontmatter" in failed.output


def test_a_strict_build_that_fails_on_warnings_says_so(run_cli: Run, vault: Path,
                                                        tmp_path: Path) -> None:
    (vault / "Flat.md").write_text(published("/flat/", "## Related\n- see also\n"))
    result = run_cli("build", vault, "-o", tmp_path / "out", "--strict")
    assert result.exit_code == 1 and not (tmp_path / "out").exists()
    assert "Error: build failed with 1 warning and --strict; nothing was written" \
        in result.output


def test_check_json(run_cli: Run, vault: Path) -> None:
    (vault / "Flat.md").write_text(published("/flat/", "## Related\n- see also\n"))
    result = run_cli("check", vault, "--format", "json")
    data = json.loads(result.output)
    assert data["ok"] is True and data["warnings"] == 1 and data["cards"] == 2
    (finding,) = data["findings"]
    assert finding["path"].endswith("Flat.md") and finding["line"] == 4
    assert finding["level"] == "warning" and finding["code"] == "no-cards"


def test_split_writes_one_package_per_top_level_deck(run_cli: Run, vault: Path,
                                                    tmp_path: Path) -> None:
    result = run_cli("build", vault, "-o", tmp_path / "out", "--split")
    assert result.exit_code == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("*.apkg")) == ["Path.apkg", "Rad.apkg"]


def test_split_decks_that_share_a_file_name_share_the_package(
        run_cli: Run, tmp_path: Path, anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "v", {"A-B/One.md": published("/one/", "## Q\none\n"),
                                         "A:B/Two.md": published("/two/", "## Q\ntwo\n")})
    assert run_cli("build", vault, "-o", tmp_path / "out", "--split").exit_code == 0
    (package,) = (tmp_path / "out").glob("*.apkg")
    anki.import_package(package)
    assert sorted(n.fields["Answer"] for n in anki.notes()) == ["<p>one</p>", "<p>two</p>"]


def test_report_lists_counts_notes_warnings_and_changes(run_cli: Run, vault: Path,
                                                       tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    run_cli("build", vault, "-o", tmp_path / "out", "--report", report)
    first = json.loads(report.read_text())
    assert first["counts"]["cards"] == 2 and first["counts"]["notes"] == 2
    assert len(first["changes"]["added"]) == 2
    lesion = next(n for n in first["notes"] if n["path"] == "Rad/Bone/Lesion.md")
    assert lesion["cards"] == 1 and lesion["skipped"] == ["Related (skipped heading)"]

    (vault / "Path/Cells.md").write_text(published("/path/cells/", "## Stain\nPAS\n"))
    run_cli("build", vault, "-o", tmp_path / "out", "--report", report)
    second = json.loads(report.read_text())
    assert second["changes"]["changed"] == ["/path/cells/#stain"]
    assert second["changes"]["unchanged"] == 1


def test_per_note_overrides(run_cli: Run, tmp_path: Path, anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "v", {
        "A.md": "---\ndg-publish: true\nanki: false\n---\n## Q\nA\n",
        "B.md": "---\ndg-publish: true\nanki-deck: Custom::Deck\nanki-tags: [extra/one]\n---\n"
                "## Q\nB\n",
    })
    result = run_cli("build", vault, "-o", tmp_path / "out")
    assert "1 note left out" in result.output
    anki.import_package(next((tmp_path / "out").glob("*.apkg")))
    (note,) = anki.notes()
    assert note.deck == "Custom::Deck" and note.tags == ("extra::one",)


def test_quiet_hides_warnings_and_no_color_outputs_plain_text(
        run_cli: Run, vault: Path, tmp_path: Path) -> None:
    (vault / "Flat.md").write_text(published("/flat/", "## Related\n- see also\n"))
    quiet = run_cli("build", vault, "-o", tmp_path / "a", "-q")
    assert "warning:" not in quiet.output and "wrote 2 cards" in quiet.output
    assert "\x1b[" not in run_cli("check", vault).output


def test_verbose_lists_the_sections_that_gave_no_card(run_cli: Run, vault: Path,
                                                      tmp_path: Path) -> None:
    result = run_cli("build", vault, "-o", tmp_path / "out", "-v")
    assert "Lesion.md: no card for Related (skipped heading)" in result.output


def test_every_command_has_help_with_an_example(run_cli: Run) -> None:
    for command in ("build", "check", "init", "preview"):
        result = run_cli(command, "--help")
        assert result.exit_code == 0 and "Example" in result.output, command
    overview = run_cli("--help").output
    summaries = overview[overview.index("Commands:"):].splitlines()
    assert "Example" in overview and not any(s.endswith("...") for s in summaries)


def _run_in_terminal(args: list[str], cwd: Path) -> str:
    """Run the CLI with its output on a pseudo-terminal, as a person at a terminal sees it."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR")}
    main, secondary = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "anki_export", *args], cwd=cwd,
                               stdout=secondary, stderr=secondary, env=env)
    os.close(secondary)
    chunks = []
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    process.wait(timeout=60)
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_on_a_terminal_and_none_when_piped(tmp_path: Path) -> None:
    files = {f"Topic {i % 20}/Note {i}.md": published(f"/n{i}/", f"## Q\nanswer {i}\n")
             for i in range(2000)}
    vault = write_vault(tmp_path / "big", files)
    on_terminal = _run_in_terminal(["build", str(vault), "-o", str(tmp_path / "a")], tmp_path)
    assert "Rendering notes" in on_terminal and "2000/2000" in on_terminal
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    piped = subprocess.run([sys.executable, "-m", "anki_export", "build", str(vault), "-o",
                            str(tmp_path / "b")], capture_output=True, text=True, env=env,
                           check=True)
    assert "Rendering" not in piped.stdout + piped.stderr
    assert "wrote 2000 cards" in piped.stdout


def test_the_command_leaves_with_its_status_and_all_its_output(tmp_path: Path) -> None:
    """What `anki-export` printed, to a pipe too, and its exit status arrive whole."""
    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "anki_export", *args], capture_output=True,
                              text=True, cwd=tmp_path, timeout=120)

    files = {f"N{i}.md": published(f"/n{i}/", f"## Q{i}\nanswer {i}\n") for i in range(300)}
    vault = write_vault(tmp_path / "v", files)
    done = command("build", str(vault), "-o", str(tmp_path / "out"))
    assert done.returncode == 0 and "wrote 300 cards" in done.stdout
    (vault / "Bad.md").write_text('---\n{"dg-publish": true,\n---\n## Q\nx\n', encoding="utf-8")
    failed = command("build", str(vault), "-o", str(tmp_path / "out"))
    assert failed.returncode == 1 and "Bad.md:" in failed.stdout + failed.stderr
    version = command("--version")
    assert version.returncode == 0 and version.stdout.startswith("anki-export, version")
