"""What a user copies into CI is valid and safe: the action (action.yml) and the workflows are
valid for GitHub Actions (check-jsonschema's schemas, which it ships: no network), the README
shows the example workflow as it is, nothing installs anki-export by its bare name from the
package index (where that name is another project), and the pre-commit hook runs `check`.
tests/test_action.py runs the action's steps."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import Result

from .conftest import published, write_vault

ROOT = Path(__file__).parents[1]
EXAMPLE = ROOT / "examples" / "github-actions.yml"
VALID_FOR = {"vendor.github-actions": [ROOT / "action.yml"],
             "vendor.github-workflows": [EXAMPLE, ROOT / ".github" / "workflows" / "ci.yml"]}
BARE_NAME = re.compile(r"pip3?\s+install\s+(-\S+\s+)*['\"]?anki-export\b(?!\S*\s*@)")


@pytest.mark.parametrize("schema", VALID_FOR)
def test_valid_for_github_actions(schema: str) -> None:
    # beside this Python first: the test extras' scripts, even where the venv is not activated
    checker = shutil.which("check-jsonschema", path=Path(sys.executable).parent) or shutil.which(
        "check-jsonschema")
    assert checker, "check-jsonschema comes with the test extras"
    result = subprocess.run([checker, "--builtin-schema", schema, *map(str, VALID_FOR[schema])],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_shows_the_example_workflow_which_uses_the_action() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Nightly decks in CI"):]
    shown = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert shown and yaml.safe_load(shown.group(1)) == yaml.safe_load(EXAMPLE.read_text())
    steps = yaml.safe_load(EXAMPLE.read_text())["jobs"]["decks"]["steps"]
    assert any(re.fullmatch(r"OWNER/anki-export@v1", step.get("uses", "")) for step in steps)
    # every other action pinned to a full commit
    assert all(re.search(r"@[0-9a-f]{40}$", step["uses"]) for step in steps
               if "uses" in step and "anki-export" not in step["uses"])


def test_nothing_installs_anki_export_by_its_bare_name() -> None:
    files = [ROOT / "README.md", ROOT / "action.yml", ROOT / ".pre-commit-hooks.yaml",
             *ROOT.glob("examples/*"), *ROOT.glob("benchmarks/*.md")]
    assert [f.name for f in files if BARE_NAME.search(f.read_text(encoding="utf-8"))] == []
    assert BARE_NAME.search("pip install anki-export") and BARE_NAME.search(
        "pip install -q 'anki-export[test]'")
    assert not BARE_NAME.search("pip install git+https://github.com/OWNER/anki-export")
    assert not BARE_NAME.search("pip install anki-export @ git+https://github.com/OWNER/a")


def test_pre_commit_hook_checks_the_notes_folder(run_cli: Callable[..., Result],
                                                 tmp_path: Path) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    # pre-commit installs this repository with pip (language: python) and runs the command
    # once with the hook's args, not with file names: `check` takes a folder.
    assert (hook["language"], hook["pass_filenames"], hook["types"]) == (
        "python", False, ["markdown"])
    command, *args = hook["entry"].split()
    assert command in (ROOT / "pyproject.toml").read_text()  # a [project.scripts] name
    vault = write_vault(tmp_path / "notes", {
        "Good.md": published("/good/", "## Sign\nsee [[Missing]]\n"),
    })
    warned = run_cli(*args, vault)
    assert warned.exit_code == 0 and "broken-link" in warned.output
    (vault / "Bad.md").write_text('---\n{"dg-publish": true,\n---\n## A\nb\n')
    failed = run_cli(*args, vault)
    assert failed.exit_code == 1 and "Bad.md" in failed.output
