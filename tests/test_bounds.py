"""One note cannot hold a build for long: notes shaped to take minutes build in seconds.

Each shape once took a minute or more at the size noted (someone else's garden is input the
builder does not choose); here each is built smaller, through the command in a process of its
own, with a bound that only a hang would reach. Speed itself is for `benchmarks/`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

from anki_export.parse import HeadingRules, parse_note
from anki_export.vault import SourceFile

from .anki_helpers import AnkiCollection
from .conftest import published, write_vault


def build(vault: Path, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command in a process of its own, which a hang could not hold past the timeout."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    return subprocess.run([sys.executable, "-m", "anki_export", "build", str(vault), "-o",
                           str(out), *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


def answers(out: Path, anki: AnkiCollection) -> dict[str, str]:
    """Each card's answer, by its question, as Anki holds it after importing the package."""
    anki.import_package(next(out.glob("*.apkg")))
    return {n.question: n.fields["Answer"] for n in anki.notes()}


def test_each_section_gets_the_definitions_it_cites_and_those_they_cite() -> None:
    body = ("## A\nA claim[^1], [the guide][Guide] and [Atlas].\n"
            "## B\nNothing cited [here].\n"
            "## C\n[guide][] and [^2]\n"
            "## References\n[^1]: Smith 2020, after [^3].\n[^2]: Jones.\n[^3]: Doe.\n"
            "[guide]: https://example.org/guide\n[atlas]: https://example.org/atlas\n")
    note, _ = parse_note(SourceFile(PurePosixPath("N.md"), body), HeadingRules(
        skipped=("References",)))
    cited = {s.heading: note.definitions.cited(s.body) for s in note.sections}
    assert cited == {
        "A": "[^1]: Smith 2020, after [^3].\n\n[^3]: Doe.\n\n[guide]: https://example.org/guide"
             "\n\n[atlas]: https://example.org/atlas",
        "B": "",
        "C": "[^2]: Jones.\n\n[guide]: https://example.org/guide",
    }


def test_a_thousand_sections_citing_a_thousand_footnotes(tmp_path: Path,
                                                          anki: AnkiCollection) -> None:
    """Each section once got all of the note's definitions: 44 s at 1,000, 174 s at 2,000."""
    body = "".join(f"## S{i}\nsee [^{i}] and [x]\n" for i in range(1000))
    body += "## References\n" + "".join(f"[^{i}]: definition {i}\n" for i in range(1000))
    vault = write_vault(tmp_path / "v", {"N.md": published(
        "/n/", body + "[x]: https://example.org\n", title="N")})
    done = build(vault, tmp_path / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    answer = answers(tmp_path / "out", anki)["N — S7"]
    assert "definition 7" in answer and 'href="https://example.org"' in answer
    assert "definition 6" not in answer and "[^7]" not in answer


def test_a_huge_code_block_is_highlighted_in_part(tmp_path: Path, anki: AnkiCollection) -> None:
    """Pygments took a minute and 2.35 GB on a 6 MB block."""
    code = "def f(x):\n    return x * 2  # twice\n" * 20_000 + "last_line = 1\n"
    vault = write_vault(tmp_path / "v", {"N.md": published(
        "/n/", f"## Code\n```python\n{code}```\n", title="N")})
    done = build(vault, tmp_path / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "N.md:5: warning: a code block of 720,014 characters" in done.stderr
    assert "[code-too-long]" in done.stderr
    answer = answers(tmp_path / "out", anki)["N — Code"]
    assert 'class="hl-k">def</span>' in answer
    assert "\ndef f(x):\n    return x * 2  # twice\nlast_line = 1\n</code></pre>" in answer


def test_a_list_nested_a_thousand_tabs_deep(tmp_path: Path, anki: AnkiCollection) -> None:
    """A check the renderer once made tried each tab of each line's indentation against the rest
    of it: 2,000 levels took 150 s."""
    items = "".join("\t" * i + f"- item {i}\n" for i in range(1000))
    vault = write_vault(tmp_path / "v", {"N.md": published("/n/", f"## List\n{items}",
                                                           title="N")})
    done = build(vault, tmp_path / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    answer = answers(tmp_path / "out", anki)["N — List"]
    assert answer.count("<ul>") == 1000 and "item 999" in answer


def test_embeds_of_one_part_many_times_over(tmp_path: Path, anki: AnkiCollection) -> None:
    """Each embed once cut the embedded note out of its whole text again and rendered it:
    10,000 embeds took a minute. Every card showing the part still learns of a change to
    what the part refers to (its lookups are recorded for each), with the render cache."""
    parts = "".join(f"## Part {i}\nSee ![[scan.png]], part {i}.\n\n" for i in range(20))
    embeds = "![[Parts#Part 5]]\n\n" * 2000
    vault = write_vault(tmp_path / "v", {
        "Parts.md": published("/parts/", parts, title="Parts"),
        "A.md": published("/a/", f"## Many\n{embeds}", title="A"),
        "B.md": published("/b/", "## One\n![[Parts#Part 5]] and ![[Parts#Missing]]\n",
                          title="B"),
    })
    done = build(vault, tmp_path / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "B.md:5: warning: embed of `Parts#Missing`: Parts.md has no heading" in done.stderr
    (vault / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    done = build(vault, tmp_path / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    shown = answers(tmp_path / "out", anki)
    assert shown["A — Many"].count("part 5.") == 2000
    assert shown["A — Many"].count("<img") == 2000
    assert shown["B — One"].count("<img") == 21
