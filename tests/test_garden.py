"""Real gardens: a Digital Garden repository in published form built as it stands, the same
notes in vault form giving the same cards, and what a build says to the person who runs it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from .anki_helpers import AnkiCollection
from .conftest import write_vault

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e527de2d0000000049454e44ae426082")

MYELOMA = """\
## Classic radiograph finding
Punched-out lytic lesions, most striking in the skull.

{image}

## Imaging workup
Whole-body low-dose CT first.
"""


def garden_repo(root: Path, extra: dict[str, str] | None = None) -> Path:
    """A garden repository as the plugin pushes it: one-line JSON frontmatter under
    `src/site/notes/`, images under `src/site/img/user/` linked by percent-encoded path."""
    notes = {
        "src/site/notes/Rad/MSK/Bone/Multiple myeloma.md": published_note(
            "Rad/MSK/Bone/Multiple myeloma.md", "/rad/msk/bone/multiple-myeloma/",
            MYELOMA.format(image="![lytic skull.png|300]"
                                 "(/img/user/Rad/MSK/Bone/_attachments/lytic%20skull.png)")),
        "src/site/notes/Welcome.md": published_note(
            "Welcome.md", "/welcome/", "## What is here\nRadiology notes.\n"),
        **(extra or {}),
    }
    write_vault(root, notes)
    image = root / "src/site/img/user/Rad/MSK/Bone/_attachments/lytic skull.png"
    image.parent.mkdir(parents=True)
    image.write_bytes(PNG)
    return root


def published_note(dg_path: str, permalink: str, body: str) -> str:
    meta = json.dumps({"dg-publish": True, "dg-path": dg_path, "permalink": permalink},
                      separators=(",", ":"))
    return f"---\n{meta}\n---\n\n{body}"


def vault_form(root: Path) -> Path:
    """The same two notes as they are in the Obsidian vault the repository was published from."""
    write_vault(root, {
        "Rad/MSK/Bone/Multiple myeloma.md": "---\ndg-publish: true\n---\n"
                                            + MYELOMA.format(image="![[lytic skull.png|300]]"),
        "Welcome.md": "---\ndg-publish: true\n---\n## What is here\nRadiology notes.\n",
    })
    (root / "Rad/MSK/Bone/_attachments").mkdir()
    (root / "Rad/MSK/Bone/_attachments/lytic skull.png").write_bytes(PNG)
    return root


def imported(anki: AnkiCollection, out: Path) -> list[str]:
    packages = sorted(out.glob("*.apkg"))
    assert len(packages) == 1, packages
    anki.import_package(packages[0])
    return [p.name for p in packages]


def test_a_garden_repository_builds_from_its_root_with_its_images(
        tmp_path: Path, run_cli: Callable[..., Result], anki: AnkiCollection) -> None:
    repo = garden_repo(tmp_path / "my-garden")
    result = run_cli("build", repo, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert imported(anki, tmp_path / "out") == ["my-garden.apkg"]
    notes = {n.question: n for n in anki.notes()}
    finding = next(n for q, n in notes.items() if "Classic radiograph finding" in q)
    image = re.search(r'<img src="([^"]+)" alt="lytic skull.png" width="300">', finding.text)
    assert image is not None, finding.text
    assert image.group(1) in anki.media_names() and "/" not in image.group(1)
    assert "warning" not in result.output
    # Decks come from the notes' dg-path; a note at the top is in the garden's own deck.
    assert {n.deck for n in notes.values()} == {"Rad::MSK::Bone", "my-garden"}


def test_the_notes_folder_itself_and_the_working_folder_build_alike(
        tmp_path: Path, run_cli: Callable[..., Result], new_anki: Callable[[], AnkiCollection],
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = garden_repo(tmp_path / "my-garden")
    assert run_cli("build", repo / "src/site/notes", "-o", tmp_path / "a").exit_code == 0
    monkeypatch.chdir(repo)  # a nightly job in the repository: no vault named at all
    assert run_cli("build", "-o", tmp_path / "b").exit_code == 0
    (repo / "anki-export.toml").write_text('vault = "."\noutput = "c"\n', encoding="utf-8")
    assert run_cli("build").exit_code == 0
    seen = []
    for out in (tmp_path / "a", tmp_path / "b", repo / "c"):
        anki = new_anki()
        assert imported(anki, out) == ["my-garden.apkg"]
        seen.append([(n.guid, n.deck, n.fields) for n in anki.notes()])
    assert seen[0] == seen[1] == seen[2]


def test_init_in_a_garden_repository_writes_a_config_that_builds_it(
        tmp_path: Path, run_cli: Callable[..., Result], anki: AnkiCollection,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(garden_repo(tmp_path / "my-garden"))
    assert run_cli("init").exit_code == 0
    assert 'vault = "."' in (tmp_path / "my-garden/anki-export.toml").read_text()
    result = run_cli("build")
    assert result.exit_code == 0, result.output
    assert imported(anki, tmp_path / "my-garden/dist") == ["my-garden.apkg"]


def test_a_note_gives_the_same_cards_in_vault_form_and_in_published_form(
        tmp_path: Path, run_cli: Callable[..., Result],
        new_anki: Callable[[], AnkiCollection]) -> None:
    repo = garden_repo(tmp_path / "garden")
    vault = vault_form(tmp_path / "garden-vault")
    cards = []
    for folder, out in ((repo, tmp_path / "a"), (vault, tmp_path / "b")):
        result = run_cli("build", folder, "-o", out, "--deck", "Radiology")
        assert result.exit_code == 0, result.output
        anki = new_anki()
        imported(anki, out)
        cards.append({n.guid: (n.deck, n.question, "<img" in n.text) for n in anki.notes()})
    assert cards[0] == cards[1]
    assert len(cards[0]) == 3 and sum(img for *_, img in cards[0].values()) == 1


def test_a_published_image_link_cannot_climb_out_of_the_images_folder(
        tmp_path: Path, run_cli: Callable[..., Result], anki: AnkiCollection) -> None:
    (tmp_path / "secret.png").write_bytes(PNG + b"secret")
    repo = garden_repo(tmp_path / "garden", {
        "src/site/notes/Leak.md": published_note(
            "Leak.md", "/leak/", "## Leak\n![a](/img/user/../../../../../secret.png)\n"),
    })
    result = run_cli("build", repo, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "secret.png` not found" in result.output
    imported(anki, tmp_path / "out")
    media = Path(anki.col.media.dir())
    assert all(b"secret" not in p.read_bytes() for p in media.iterdir())


@pytest.mark.parametrize("name", ["collection", "Collection.apkg", "backup-2024-01-01"])
def test_a_package_name_anki_reads_as_a_whole_collection_is_refused(
        tmp_path: Path, run_cli: Callable[..., Result], name: str) -> None:
    vault = write_vault(tmp_path / "v", {"A/N.md": "---\ndg-publish: true\n---\n## Q\nA\n"})
    result = run_cli("build", vault, "-o", tmp_path / "out", "--package-name", name)
    assert result.exit_code == 2
    assert "whole collection" in result.output and "--package-name" in result.output
    assert not (tmp_path / "out").exists()
    (vault / "anki-export.toml").write_text(f'package-name = "{name}"\n', encoding="utf-8")
    result = run_cli("check", vault)
    assert result.exit_code == 2 and "anki-export.toml" in result.output


def test_a_vault_named_collection_gets_a_package_anki_imports_as_decks(
        tmp_path: Path, run_cli: Callable[..., Result], anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "collection", {
        "N.md": "---\ndg-publish: true\n---\n## Q\nA\n",
        "backup-1/M.md": "---\ndg-publish: true\n---\n## Q\nA\n"})
    result = run_cli("build", vault, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "Named collection-deck.apkg, not collection.apkg" in result.output
    assert imported(anki, tmp_path / "out") == ["collection-deck.apkg"]
    assert {n.deck for n in anki.notes()} == {"collection", "backup-1"}
    result = run_cli("build", vault, "-o", tmp_path / "split", "--split")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "split").glob("*.apkg")) == [
        "backup-1-deck.apkg", "collection-deck.apkg"]


def test_notes_sharing_a_permalink_give_one_warning_and_all_their_cards(
        tmp_path: Path, run_cli: Callable[..., Result], anki: AnkiCollection) -> None:
    repo = garden_repo(tmp_path / "garden", {
        f"src/site/notes/Rad/Misc/Case {k:02d}.md": published_note(
            f"Rad/Misc/Case {k:02d}.md", "/rad/", f"## Finding\nCase {k}.\n")
        for k in range(42)})
    result = run_cli("build", repo, "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "warning" in line]
    notes = (repo / "src/site/notes/Rad/Misc").as_posix()  # named as the other lines name files
    assert warnings == [
        f"warning: 42 notes share the permalink /rad/: {notes}/Case 00.md, {notes}/Case 01.md, "
        f"{notes}/Case 02.md and 39 more (-v lists them); each keeps its own cards, but give "
        "each a permalink (or dg-permalink) of its own, so that their cards' IDs do not depend "
        "on their paths [duplicate-permalink]"]
    imported(anki, tmp_path / "out")
    assert sum("Finding" in n.question for n in anki.notes()) == 42
    verbose = run_cli("check", repo, "-v", "--format", "json")
    found = json.loads(verbose.output)["findings"]
    assert sum(f["level"] == "info" and f["code"] == "duplicate-permalink" for f in found) == 42
    listed = run_cli("build", repo, "-o", tmp_path / "out", "-v").output
    assert listed.count("info: shares the permalink /rad/ with 41 other notes") == 42


def test_a_plain_vault_says_once_that_its_notes_have_no_permalink(
        tmp_path: Path, run_cli: Callable[..., Result]) -> None:
    vault = write_vault(tmp_path / "v", {f"Topic/Note {k}.md": f"## Q{k}\nA\n" for k in range(5)})
    topic = (vault / "Topic").as_posix()
    result = run_cli("build", vault, "-o", tmp_path / "out", "--all")
    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if "permalink" in line] == [
        f"warning: 5 notes have no permalink, dg-permalink or dg-path: {topic}/Note 0.md, "
        f"{topic}/Note 1.md, {topic}/Note 2.md and 2 more (-v lists them); their cards' IDs follow "
        "their file paths, so moving or renaming one makes new cards; add a `permalink` to "
        "each to keep them [no-permalink]"]
    verbose = run_cli("build", vault, "-o", tmp_path / "out", "--all", "-v").output
    assert verbose.count("info: no permalink") == 5


def test_cards_that_change_deck_are_reported_with_the_search_that_moves_them(
        tmp_path: Path, run_cli: Callable[..., Result], anki: AnkiCollection) -> None:
    repo = garden_repo(tmp_path / "garden", {
        "src/site/notes/Rad/Chest/Pneumothorax.md": published_note(
            "Rad/Chest/Pneumothorax.md", "/rad/", "## Sign\nDeep sulcus.\n\n## Tension\nShift.\n"),
        "src/site/notes/Rad/Chest/Effusion.md": published_note(
            "Rad/Chest/Effusion.md", "/rad/chest/effusion/", "## Sign\nMeniscus.\n"),
        "src/site/notes/Rad/Neuro/Stroke.md": published_note(
            "Rad/Neuro/Stroke.md", "/rad/", "## First test\nCT.\n"),
    })
    out = tmp_path / "out"
    assert run_cli("build", repo, "-o", out).exit_code == 0
    imported(anki, out)
    guids = {n.guid for n in anki.notes()}
    note = repo / "src/site/notes/Rad/Chest/Pneumothorax.md"  # shares its permalink, even
    note.write_text(note.read_text().replace('"Rad/Chest/', '"Rad/Thorax/'), encoding="utf-8")
    result = run_cli("build", repo, "-o", out, "--report", tmp_path / "report.json")
    assert result.exit_code == 0, result.output
    assert "The cards of 1 note changed deck since the last build" in result.output
    line = next(line for line in result.output.splitlines() if " → " in line)
    assert line.startswith("  Rad::Chest → Rad::Thorax (Rad/Chest/Pneumothorax.md): ")
    search = line.partition("): ")[2]
    moved = json.loads((tmp_path / "report.json").read_text())["changes"]["moved"]
    assert moved == [{"old": "Rad::Chest", "new": "Rad::Thorax",
                      "sources": ["Rad/Chest/Pneumothorax.md"], "search": search}]
    imported(anki, out)
    assert {n.guid for n in anki.notes()} == guids  # the same cards, still where they were
    # What the user does in Anki: Browse, the search, select all, Change Deck.
    cards = anki.col.find_cards(search)
    assert len(cards) == 2
    anki.col.set_deck(cards, anki.col.decks.id("Rad::Thorax"))
    decks = {n.question: n.deck for n in anki.notes()}
    assert sorted(d for q, d in decks.items() if "Pneumothorax" in q) == ["Rad::Thorax"] * 2
    assert sorted(d for q, d in decks.items() if "Effusion" in q) == ["Rad::Chest"]


def test_a_root_deck_added_moves_every_card_and_says_so_once_per_deck(
        tmp_path: Path, run_cli: Callable[..., Result], anki: AnkiCollection) -> None:
    repo = garden_repo(tmp_path / "garden")
    out = tmp_path / "out"
    assert run_cli("build", repo, "-o", out, "--package-name", "rad").exit_code == 0
    imported(anki, out)
    result = run_cli("build", repo, "-o", out, "--package-name", "rad", "--deck", "Medicine")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "The cards of 2 notes changed deck since the last build" in result.output
    moves = [line for line in lines if " → " in line]
    assert moves == [
        '  Rad::MSK::Bone → Medicine::Rad::MSK::Bone (Rad/MSK/Bone/Multiple myeloma.md): '
        '"deck:Rad::MSK::Bone" -"deck:Rad::MSK::Bone::*" "note:anki-export*"',
        '  garden → Medicine (Welcome.md): "deck:garden" -"deck:garden::*" '
        '"note:anki-export*"']
    imported(anki, out)
    for line in moves:
        new = line.strip().split(" (")[0].split(" → ")[1]
        anki.col.set_deck(anki.col.find_cards(line.partition("): ")[2]), anki.col.decks.id(new))
    assert {n.deck for n in anki.notes()} == {"Medicine::Rad::MSK::Bone", "Medicine"}


UNWANTED = {
    "Rad/Neuro/Stroke.md": """\
        ## Video
        ![](https://www.youtube.com/watch?v=abc)

        ## See these
        - [[Rad/Neuro/Bleed|Bleed]]
        - [Radiopaedia](https://radiopaedia.org/articles/stroke)

        ## Long
        {long}

        ## First test
        Non-contrast CT.
        """,
    "Rad/Neuro/Bleed.md": """\
        ## First test
        Non-contrast CT.

        ## Hallmark
        Hyperdense blood, with [[Rad/Neuro/Stroke|a link]] in a sentence.
        """,
}


@pytest.mark.parametrize("form", ["vault", "published"])
def test_check_flags_cards_a_student_would_not_want(
        tmp_path: Path, run_cli: Callable[..., Result], form: str) -> None:
    long = " ".join(["word"] * 301)
    files = {}
    for rel, text in UNWANTED.items():
        body = text.replace("{long}", long).replace("        ", "")
        permalink = "/" + rel.removesuffix(".md").lower() + "/"
        files[rel if form == "vault" else f"src/site/notes/{rel}"] = (
            f"---\ndg-publish: true\npermalink: {permalink}\n---\n{body}" if form == "vault"
            else published_note(rel, permalink, body))
    root = write_vault(tmp_path / "g", files)
    notes = root if form == "vault" else root / "src/site/notes"
    result = run_cli("check", root, "--question-format", "{heading}")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{notes.as_posix()}/Rad/Neuro/Stroke.md:5: warning: the answer shows nothing (what "
        "the section holds is not shown on a card, or is only a remote file); write the "
        "answer, or remove the section [empty-answer]",
        f"{notes.as_posix()}/Rad/Neuro/Stroke.md:8: warning: the answer is only links, "
        "nothing to recall; write what they lead to, or name the heading in --skip-heading "
        "[only-links]",
        f"{notes.as_posix()}/Rad/Neuro/Stroke.md:12: warning: the answer has 301 words, over "
        "300: split the section into smaller ones (or raise --max-answer-words) [long-answer]",
        f"{notes.as_posix()}/Rad/Neuro/Stroke.md:15: warning: the same question as "
        f"{notes.as_posix()}/Rad/Neuro/Bleed.md:5, in the same deck Rad::Neuro; reword one, "
        "or give the notes distinct titles [duplicate-question]",
        "0 errors, 4 warnings, 6 cards"]
    # The default question names the note: no duplicate; the limit is a setting, 0 for none.
    result = run_cli("check", root, "--max-answer-words", "0")
    assert "duplicate-question" not in result.output and "long-answer" not in result.output
    (root / "anki-export.toml").write_text("max-answer-words = 400\n", encoding="utf-8")
    assert "long-answer" not in run_cli("check", root).output
    (root / "anki-export.toml").write_text('max-answer-words = "many"\n', encoding="utf-8")
    assert run_cli("check", root).exit_code == 2


def test_warnings_of_one_kind_are_counted_past_the_first_ten(
        tmp_path: Path, run_cli: Callable[..., Result], anki: AnkiCollection) -> None:
    vault = write_vault(tmp_path / "v", {
        f"Topic/N{k:02d}.md": f"---\npermalink: /n{k}/\n---\n## Index\n- [[N00]]\n\n## Q\nA\n"
        for k in range(14)})
    result = run_cli("build", vault, "-o", tmp_path / "out", "--all")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "only-links" in line]
    assert len(lines) == 11
    assert lines[-1] == "... and 4 more only-links warnings (-v lists them all)"
    verbose = run_cli("check", vault, "--all", "-v").output
    assert verbose.count("[only-links]") == 14
    imported(anki, tmp_path / "out")
    assert len(anki.notes()) == 28  # warned about, not left out
