"""The project as a GitHub Action (action.yml): its bash steps run here as a runner runs them,
in a garden repository written in tmp_path, with the inputs' defaults, `github.action_path`
the project, and GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_PATH files; the package it
builds is imported into real Anki.

Only the install step is not run (it would install the project and its dependencies from the
network, for a minute): the test asserts that it installs from the action's own files and
puts the command on GITHUB_PATH, and does that last part with this environment's anki-export.
The acceptance check G2 runs the real install.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from .anki_helpers import AnkiCollection
from .conftest import write_vault

ROOT = Path(__file__).parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
COMMIT_TIME = 1_700_000_000


@dataclass(frozen=True)
class ActionRun:
    outputs: dict[str, str]
    summary: str
    log: str  # every step's output


def garden_repository(repo: Path) -> Path:
    """A Digital Garden repository as the plugin publishes it, in one commit at COMMIT_TIME."""
    write_vault(repo, {
        "README.md": "# My garden\nNot a note: outside src/site/notes.\n",
        "src/site/notes/Rad/Myeloma.md": """\
            ---
            {"dg-publish":true,"dg-path":"Rad/Myeloma.md","permalink":"/rad/myeloma/"}
            ---
            ## Hallmark
            Punched-out lytic lesions; see [[Rad/Nowhere|a note not published]].
            ## Imaging
            Whole-body low-dose CT.
            """,
        "src/site/notes/Rad/Chest/Pneumothorax.md": """\
            ---
            {"dg-publish":true,"dg-path":"Rad/Chest/Pneumothorax.md","permalink":"/rad/chest/pneumothorax/"}
            ---
            ## Sign
            Deep sulcus sign on a supine film.
            """,
    })
    commit(repo, "notes")
    return repo


def commit(repo: Path, message: str) -> None:
    date = f"@{COMMIT_TIME} +0000"
    env = dict(os.environ, GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                       env=env, check=True, capture_output=True)


def install_step(step: dict[str, str], bin_folder: Path, github_path: Path) -> None:
    """What the install step does, checked in its text; done here with this environment's
    anki-export (this checkout's source) in a folder on GITHUB_PATH, as the step does."""
    script = step["run"]
    assert re.search(r'pip install [^\n]*"\$GITHUB_ACTION_PATH"\n', script)
    assert "python3 -m venv" in script and '>> "$GITHUB_PATH"' in script
    assert not re.search(r"pip install[^\n]* anki-export\b", script)
    bin_folder.mkdir()
    command = bin_folder / "anki-export"
    command.write_text(f'#!/bin/sh\nPYTHONPATH="{ROOT / "src"}" exec "{sys.executable}" '
                       '-m anki_export "$@"\n')
    command.chmod(0o755)
    with github_path.open("a") as f:
        f.write(f"{bin_folder}\n")


def run_action(repo: Path, work: Path, **inputs: str) -> ActionRun:
    """Each step of action.yml in order, by bash in the repository as a runner runs it:
    `${{ inputs.x }}` (defaults, then `inputs`) and `${{ github.action_path }}` substituted."""
    values = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    values.update(inputs)
    files = {name: work / name.lower() for name in
             ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_PATH", "RUNNER_TEMP")}
    files["RUNNER_TEMP"].mkdir(parents=True)
    base = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env = dict(base, GITHUB_ACTIONS="true", GITHUB_ACTION_PATH=str(ROOT),
               GITHUB_WORKSPACE=str(repo), **{k: str(v) for k, v in files.items()})

    def expand(text: str) -> str:
        def value(m: re.Match[str]) -> str:
            name = m.group(1)
            return str(ROOT) if name == "github.action_path" else values[name.removeprefix(
                "inputs.")]
        return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", value, text)

    log = ""
    assert ACTION["runs"]["using"] == "composite"
    for step in ACTION["runs"]["steps"]:
        if "GITHUB_ACTION_PATH" in step["run"]:
            install_step(step, work / "bin", files["GITHUB_PATH"])
            continue
        assert step["shell"] == "bash" and "${{" not in step["run"]  # inputs come through env
        path = ":".join(files["GITHUB_PATH"].read_text().split())
        step_env = dict(env, PATH=f"{path}:{env['PATH']}",
                        **{k: expand(str(v)) for k, v in step.get("env", {}).items()})
        result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                                 step["run"]], cwd=repo, env=step_env, capture_output=True,
                                text=True, timeout=120)
        log += result.stdout + result.stderr
        if result.returncode:
            break
    return ActionRun(read_outputs(files["GITHUB_OUTPUT"]),
                     files["GITHUB_STEP_SUMMARY"].read_text() if
                     files["GITHUB_STEP_SUMMARY"].exists() else "", log)


def read_outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT's two forms: `name=value`, and `name<<END` … `END` for several lines."""
    outputs: dict[str, str] = {}
    lines = iter(path.read_text().splitlines() if path.exists() else ())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<")[0]:
            name, end = line.split("<<", 1)
            outputs[name] = "\n".join(iter(lines.__next__, end))
        else:
            name, _, value = line.partition("=")
            outputs[name] = value
    return outputs


def test_the_actions_steps_build_a_garden_repository_into_anki(
        tmp_path: Path, anki: AnkiCollection) -> None:
    repo = garden_repository(tmp_path / "garden")

    run = run_action(repo, tmp_path / "run1")

    assert run.outputs.get("packages") == "dist/garden.apkg", run.log  # named after the repository
    assert "broken-link" in run.log  # a warning: printed, and the job goes on
    assert {k: run.outputs[k] for k in ("added", "changed", "removed")} == {
        "added": "3", "changed": "0", "removed": "0"}
    assert "3 cards in 2 decks from 2 notes: **3** added, **0** changed, **0** removed" in (
        run.summary)
    assert "- `dist/garden.apkg`" in run.summary
    assert (repo / "anki-export.lock").exists()  # the input's default: in the repository
    anki.import_package(repo / run.outputs["packages"])
    notes = anki.notes()
    assert {(n.deck, n.question) for n in notes} == {
        ("Rad", "Myeloma — Hallmark"), ("Rad", "Myeloma — Imaging"),
        ("Rad::Chest", "Pneumothorax — Sign")}
    assert {n.mod for n in notes} == {COMMIT_TIME}  # SOURCE_DATE_EPOCH: the last commit

    # The next night, one section edited: the counts say so, from the committed manifest.
    note = repo / "src/site/notes/Rad/Myeloma.md"
    note.write_text(note.read_text().replace("low-dose CT", "low-dose CT or MRI"))
    commit(repo, "edit")
    run = run_action(repo, tmp_path / "run2", output="dist2")
    assert run.outputs.get("packages") == "dist2/garden.apkg", run.log
    assert [run.outputs[k] for k in ("added", "changed", "removed")] == ["0", "1", "0"]


def test_inputs_are_never_run_as_shell_code(tmp_path: Path) -> None:
    repo = garden_repository(tmp_path / "garden")
    notes = 'my notes $(touch injected) `touch injected` "; touch injected'

    run = run_action(repo, tmp_path / "run", notes=notes, args="--deck 'Night deck'")

    assert notes in run.log  # the folder's name, as written, in the error
    assert not list(repo.rglob("injected")) and not run.outputs


def test_args_are_split_like_a_command_line(tmp_path: Path) -> None:
    repo = garden_repository(tmp_path / "garden")
    run = run_action(repo, tmp_path / "run", args="--deck 'Night deck' --all")
    assert run.outputs.get("packages") == "dist/Night deck.apkg", run.log
