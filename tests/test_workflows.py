"""The CI recipe in examples/ is a valid GitHub Actions workflow, and it runs the commands the
README documents, so users copy something that works."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
WORKFLOWS = [ROOT / "examples" / "github-actions.yml", ROOT / ".github" / "workflows" / "ci.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_valid_for_github_actions(workflow: Path) -> None:
    # beside this Python first: the test extras' scripts, even where the venv is not activated
    checker = shutil.which("check-jsonschema", path=Path(sys.executable).parent) or shutil.which(
        "check-jsonschema")
    assert checker, "check-jsonschema comes with the test extras"
    result = subprocess.run([checker, "--builtin-schema", "vendor.github-workflows",
                             str(workflow)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_recipe_steps_are_the_readme_commands() -> None:
    workflow = yaml.safe_load(WORKFLOWS[0].read_text())
    runs = [step["run"] for step in workflow["jobs"]["decks"]["steps"] if "run" in step]
    commands = [line.strip() for run in runs for line in run.splitlines()
                if line.strip().startswith("anki-export")]
    assert commands == ["anki-export check", "anki-export build --report dist/report.json"]
    readme = (ROOT / "README.md").read_text()
    assert "examples/github-actions.yml" in readme
    assert all(re.search(re.escape(c), readme) for c in commands)
