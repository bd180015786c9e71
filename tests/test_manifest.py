"""The manifest the last build wrote is read without parsing it and written by splicing this
build's changes into its text: the result must be the text a parsed manifest gives."""

from __future__ import annotations

from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from anki_export import manifest
from anki_export.manifest import Entry, Manifest, manifest_facts, read_manifest, write_manifest

GUIDS = st.text("abcXYZ019!#$%&()*+,-./:;<=>?@[]^_`{|}~", min_size=1, max_size=4)


def entry(guid: str, version: int = 0) -> Entry:
    return Entry(f"digest-{version}", 1_700_000_000 + version, f"/n/#{guid}", "N.md",
                 "anki-export basic", "Deck", (f"Q {guid} «{version}»", ""), ("t",))


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
    for known in (None, (written, written, facts)):  # parsed, then read as written
        before = read_manifest(path, known)
        release = manifest.Release(before, 1_700_000_100)
        for guid, fate in fates.items():
            if fate == "kept":
                release.keep(guid)
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
