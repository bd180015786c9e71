"""The manifest the last build wrote is read without parsing it and written by splicing this
build's changes into its text: the result must be the text a parsed manifest gives."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import example, given, settings
from hypothesis import strategies as st

from anki_export import manifest
from anki_export.cli import cli
from anki_export.files import PIECE, map_file
from anki_export.manifest import Entry, Manifest, manifest_facts, read_manifest, write_manifest

from .conftest import published, write_vault


def build(vault: Path, out: Path) -> Result:
    return CliRunner().invoke(cli, ["build", str(vault), "-o", str(out)],
                              env={"SOURCE_DATE_EPOCH": "1700000000"})


GUIDS = st.text("abcXYZ019!#$%&()*+,-./:;<=>?@[]^_`{|}~", min_size=1, max_size=4)


def entry(guid: str, version: int = 0) -> Entry:
    return Entry(f"digest-{version}", 1_700_000_000 + version, f"/n/#{guid}", "N.md",
                 "anki-export basic", "Deck", (f"Q {guid} «{version}»", "", "", ""), ("t",))


@settings(max_examples=60, deadline=None)
@example({"0": "gone"}, {"0"})  # found in a fresh clone: a GUID both gone and drawn as new
@given(st.dictionaries(GUIDS, st.sampled_from(["kept", "changed", "same", "gone"]),
                       min_size=0, max_size=40),
       st.sets(GUIDS, max_size=10))
def test_spliced_text_equals_the_parsed_one(tmp_path_factory: object, fates: dict[str, str],
                                           new: set[str]) -> None:
    folder = tmp_path_factory.mktemp("m")  # type: ignore[attr-defined]
    path = folder / "anki-export.lock"
    written = write_manifest(path, Manifest({guid: entry(guid) for guid in fates}))
    facts = dict(manifest_facts(read_manifest(path)))
    texts = []
    # parsed, then read as written
    for known in (None, manifest.KnownManifest(written, written, facts)):
        before = read_manifest(path, known)
        release = manifest.Release(before, 1_700_000_100)
        for guid, fate in fates.items():
            if fate == "kept":
                release.keep([guid])
            elif fate == "same":
                release.entries[guid] = before.notes[guid]  # shipped, unchanged
            elif fate == "changed":
                release.entries[guid] = entry(guid, 1)
        for guid in new - set(fates):
            release.entries[guid] = entry(guid, 2)
        out = Path(folder / f"out-{known is None}.lock")
        write_manifest(out, release.manifest())
        texts.append(out.read_text(encoding="utf-8"))
    assert texts[0] == texts[1]
    assert read_manifest(Path(folder / "out-False.lock")).notes.keys() == (
        {g for g, fate in fates.items() if fate != "gone"} | (new - set(fates)))


def test_a_mapped_manifest_longer_than_a_piece_is_spliced_the_same(tmp_path: Path) -> None:
    """The build maps the last manifest (`files.map_file`) and writes its long runs of
    unchanged lines a piece at a time, letting each piece's pages go: same text as parsed."""
    path = tmp_path / "anki-export.lock"
    long = {f"g{n:05d}": replace(entry(f"g{n:05d}"), fields=(f"Q {n} " + "x" * 400, "", "", ""))
            for n in range(4000)}
    written = write_manifest(path, Manifest(long))
    assert path.stat().st_size > 1.5 * PIECE
    facts = dict(manifest_facts(read_manifest(path)))
    texts = []
    for known, data in ((None, None),
                        (manifest.KnownManifest(written, written, facts), map_file(path))):
        release = manifest.Release(read_manifest(path, known, data=data), 1_700_000_100)
        for guid in long:
            if guid not in ("g00007", "g03999"):
                release.keep([guid])
        release.entries["g00007"] = entry("g00007", 1)
        out = tmp_path / f"out-{known is None}.lock"
        write_manifest(out, release.manifest())
        texts.append(out.read_bytes())
    assert texts[0] == texts[1]
    assert b'"g03999"' not in texts[1] and b"digest-1" in texts[1]


def test_an_entry_is_found_alike_by_binary_search_and_by_line_index(tmp_path: Path) -> None:
    """A build that asks for many entries (a full build asks for all) switches from a binary
    search per entry to an index of the lines: both find the same line, or the same place
    for a GUID that is not there."""
    path = tmp_path / "anki-export.lock"
    entries = {f"g{n:04d}": entry(f"g{n:04d}", n) for n in range(1, 1200, 2)}
    written = write_manifest(path, Manifest(entries))
    known = manifest.KnownManifest(written, written, dict(manifest_facts(read_manifest(path))))

    def stored() -> Any:
        return read_manifest(path, known, data=map_file(path)).notes

    probes = [f"g{n:04d}" for n in range(1300)] + ["a", "h", "g", ""]
    many = stored()
    found = [many.seek(guid) for guid in probes]  # indexed from the 256th on
    assert found == [stored().seek(guid) for guid in probes]  # each a binary search
    assert [found[n][1] for n in range(1300)] == [n % 2 == 1 and n < 1200 for n in range(1300)]
    assert all(many[guid] == entries[guid] for guid in entries)


TEXT = st.text(st.characters(codec="utf-8"), max_size=12)  # quotes, controls, U+2028, …


@settings(max_examples=200, deadline=None)
@given(st.builds(Entry, TEXT, st.integers(0, 2**40), TEXT, TEXT, TEXT, TEXT,
                 st.lists(TEXT, max_size=3).map(tuple), st.lists(TEXT, max_size=3).map(tuple),
                 st.none() | st.integers(0, 2**40),
                 st.lists(st.tuples(st.integers(1, 99), TEXT), max_size=3).map(tuple),
                 st.lists(st.tuples(st.integers(1, 99), TEXT), max_size=3).map(tuple)),
       TEXT)
def test_an_entry_line_is_its_fields_as_json_writes_them(entry: Entry, guid: str) -> None:
    """Lines are put together by hand, for speed: they must read as `json` writes them, the
    optional fields (removal time, clozes) left out when unset."""
    fields = {name: value for name in Entry.__dataclass_fields__
              if (value := getattr(entry, name)) not in (None, ())
              or name not in {"removed", "clozes", "empty_clozes"}}
    assert manifest._line(guid, entry) == (
        f"    {json.dumps(guid, ensure_ascii=False)}: "
        f"{json.dumps(fields, ensure_ascii=False, sort_keys=True)}").encode()


def _set(**fields: object) -> Any:
    return lambda raw: raw.update(fields)


def _drop(name: str) -> Any:
    return lambda raw: raw.pop(name)


DAMAGE: dict[str, tuple[Any, str]] = {  # what a hand edit or a bad merge does to an entry
    "unknown notetype": (_set(notetype="Basic (and reversed)"), "unknown notetype"),
    "too few fields": (lambda raw: raw["fields"].pop(), '"fields" holds 3 fields'),
    "fields not a list": (_set(fields="Q"), '"fields" must be a list'),
    "a tag with a space": (_set(tags=["two words"]), '"tags" must be a list of tags'),
    "tags a string": (_set(tags="t"), '"tags" must be a list of tags'),
    "a bad deck": (_set(deck="Rad::::Bone"), '"deck"'),
    "a huge mod": (_set(mod=10**30), '"mod" must be a whole number'),
    "a negative mod": (_set(mod=-1), '"mod" must be a whole number'),
    "a mod in quotes": (_set(mod="1700000000"), '"mod" must be a whole number'),
    "a float removed": (_set(removed=1_700_000_000.5), '"removed" must be a whole number'),
    "no digest": (_drop("digest"), '"digest" must be a string'),
    "no key": (_drop("key"), '"key" must be a string'),
    "a number as source": (_set(source=7), '"source" must be a string'),
    "bad clozes": (_set(clozes=[[1]]), '"clozes" must be a list'),
    "an entry not an object": (lambda raw: raw.clear() or raw.update(x=[]), '"key"'),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vault built twice (a section removed in between) into `out`, beside it."""
    folder = tmp_path_factory.mktemp("built")
    vault = write_vault(folder / "v", {
        "N.md": published("/n/", "## Q\nanswer\n## Gone\nsoon\n"),
        "M.md": published("/m/", "## Q\n==highlight==\n", anki_cloze="highlights")})
    assert build(vault, folder / "out").exit_code == 0
    (vault / "N.md").write_text(published("/n/", "## Q\nanswer\n"))  # "Gone" is removed
    assert build(vault, folder / "out").exit_code == 0
    return folder


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_manifest_is_named_with_its_line_and_keeps_the_package(
        built: Path, tmp_path: Path, damage: str) -> None:
    """Every field of every entry is checked as the manifest is read: a clear error naming
    the file and the entry's line, exit 1, the package and manifest as they were, and the
    same again next time (nothing unreadable was cached)."""
    vault, out = built / "v", tmp_path / "out"
    shutil.copytree(built / "out", out)
    lock = out / "anki-export.lock"
    data = json.loads(lock.read_text())
    guid = sorted(data["notes"])[-1]
    change, message = DAMAGE[damage]
    change(data["notes"][guid])
    lock.write_text(json.dumps(data, indent=2))  # as a person edits it
    line = lock.read_text().split("\n").index(f'    "{guid}": {{') + 1
    package, text = (out / "v.apkg").read_bytes(), lock.read_text()
    for _ in range(2):
        result = build(vault, out)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert f"anki-export.lock:{line}: the build manifest is damaged" in result.output
        assert message in result.output and "delete it" in result.output
        assert (out / "v.apkg").read_bytes() == package and lock.read_text() == text


def test_a_manifest_whose_notes_are_no_object_is_named(tmp_path: Path) -> None:
    vault, out = write_vault(tmp_path / "v", {"N.md": published("/n/", "## Q\na\n")}), tmp_path
    assert build(vault, out).exit_code == 0
    (out / "anki-export.lock").write_text('{\n  "anki-export": 1,\n  "notes": []\n}\n')
    result = build(vault, out)
    assert result.exit_code == 1 and "anki-export.lock:3: the build manifest is damaged" in (
        result.output)
