"""`anki_export.package.write_package`: what Anki sees after importing, reproducibility,
atomic replacement and speed.  Imports use Anki's real backend (the `anki` package)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
import zipfile
import zlib
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from anki.collection import Collection

from anki_export.archive import write_zip
from anki_export.package import CardTemplate, NoteType, PackageNote, PackageWriter, write_package

from .anki_helpers import import_package

STAMP = 1_700_000_000
BASIC = NoteType(
    id=1_650_000_000_001, name="pkg basic", fields=("Front", "Back"),
    templates=(CardTemplate("Card 1", "<div class=front>{{Front}}</div>",
                            "{{FrontSide}}<hr id=answer>{{Back}}"),),
    css=".card { font-family: serif; }", revision=STAMP)
CLOZE = NoteType(
    id=1_650_000_000_002, name="pkg cloze", fields=("Text", "Extra"),
    templates=(CardTemplate("Cloze", "{{cloze:Text}}", "{{cloze:Text}}<p>{{Extra}}</p>"),),
    css=".cloze { color: blue; }", is_cloze=True, revision=STAMP)


def rows(col: Collection, sql: str) -> list[Any]:
    assert col.db is not None
    return col.db.all(sql)


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "vault" / "scan.png"
    path.parent.mkdir()
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    return path


def sample_notes() -> list[PackageNote]:
    return [
        PackageNote("basic-guid", BASIC, "Rad::MSK::Bone",
                    ("What is <b>Ewing</b> sarcoma?",
                     'Small round blue cell <img src="a1b2-scan.png">'),
                    ("rad", "msk::bone"), STAMP),
        PackageNote("cloze-guid", CLOZE, "Rad::Neuro",
                    ("{{c1::Glioblastoma}} is {{c3::WHO grade 4}}", "see also"), ("rad",), STAMP),
    ]


def test_package_imports_notes_cards_decks_tags_and_media(
        col: Collection, tmp_path: Path, image: Path) -> None:
    package = write_package(tmp_path / "out.apkg", sample_notes(), {"a1b2-scan.png": image},
                            timestamp=STAMP)
    log = import_package(col, package)
    assert (len(log.new), len(log.updated), len(log.duplicate)) == (2, 0, 0)

    notes = {col.get_note(nid).guid: col.get_note(nid) for nid in col.find_notes("")}
    assert set(notes) == {"basic-guid", "cloze-guid"}
    basic, cloze = notes["basic-guid"], notes["cloze-guid"]
    assert [n.mid for n in (basic, cloze)] == [BASIC.id, CLOZE.id]  # notetype ids are kept
    assert [m.name for m in col.models.all_names_and_ids() if m.name.startswith("pkg")] == [
        "pkg basic", "pkg cloze"]
    assert dict(basic.items())["Back"] == 'Small round blue cell <img src="a1b2-scan.png">'
    assert sorted(basic.tags) == ["msk::bone", "rad"] and cloze.tags == ["rad"]
    assert basic.mod == STAMP

    (card,) = basic.cards()
    assert col.decks.name(card.did) == "Rad::MSK::Bone"
    assert "<div class=front>What is <b>Ewing</b> sarcoma?</div>" in card.question()
    assert 'Small round blue cell <img src="a1b2-scan.png">' in card.answer()
    assert ".card { font-family: serif; }" in card.question()

    cloze_cards = sorted(cloze.cards(), key=lambda c: c.ord)
    assert [c.ord for c in cloze_cards] == [0, 2]  # c1 and c3: ord = N - 1
    assert {col.decks.name(c.did) for c in cloze_cards} == {"Rad::Neuro"}
    assert 'data-cloze="Glioblastoma"' in cloze_cards[0].question()
    assert 'data-cloze="WHO&#x20;grade&#x20;4"' in cloze_cards[1].question()
    assert "Glioblastoma" in cloze_cards[1].question() and "see also" in cloze_cards[1].answer()

    decks = {d.name for d in col.decks.all_names_and_ids()}
    assert {"Rad", "Rad::MSK", "Rad::MSK::Bone", "Rad::Neuro"} <= decks
    assert (Path(col.media.dir()) / "a1b2-scan.png").read_bytes() == image.read_bytes()


def test_reimporting_the_same_package_changes_nothing(col: Collection, tmp_path: Path,
                                                      image: Path) -> None:
    package = write_package(tmp_path / "out.apkg", sample_notes(), {"a1b2-scan.png": image},
                            timestamp=STAMP)
    import_package(col, package)
    before = rows(col, "select id, guid, mod, flds from notes order by id")
    log = import_package(col, package)
    assert (len(log.new), len(log.updated), len(log.duplicate)) == (0, 0, 2)
    assert rows(col, "select id, guid, mod, flds from notes order by id") == before
    assert col.card_count() == 3


def test_identical_inputs_give_identical_bytes(tmp_path: Path, image: Path) -> None:
    first = write_package(tmp_path / "a.apkg", sample_notes(), {"a1b2-scan.png": image},
                          timestamp=STAMP)
    second = write_package(tmp_path / "b.apkg", iter(sample_notes()),
                           {"a1b2-scan.png": image}, timestamp=STAMP)
    assert first.read_bytes() == second.read_bytes()

    with zipfile.ZipFile(first) as zf:
        assert zf.namelist() == ["collection.anki2", "media", "0"]
        assert {i.date_time for i in zf.infolist()} == {(2023, 11, 14, 22, 13, 20)}
        assert {i.filename: i.compress_type for i in zf.infolist()} == {
            "collection.anki2": zipfile.ZIP_DEFLATED, "media": zipfile.ZIP_DEFLATED,
            "0": zipfile.ZIP_STORED}  # a PNG is compressed already
        assert json.loads(zf.read("media")) == {"0": "a1b2-scan.png"}


def test_zip_times_are_clamped_to_1980(tmp_path: Path) -> None:
    package = write_package(tmp_path / "old.apkg", sample_notes()[1:], {}, timestamp=0)
    with zipfile.ZipFile(package) as zf:
        assert zf.getinfo("collection.anki2").date_time == (1980, 1, 1, 0, 0, 0)


def test_collection_holds_what_anki_expects(col: Collection, tmp_path: Path) -> None:
    package = write_package(tmp_path / "out.apkg", sample_notes(), {}, timestamp=STAMP)
    db_path = tmp_path / "collection.anki2"
    with zipfile.ZipFile(package) as zf:
        db_path.write_bytes(zf.read("collection.anki2"))
    db = sqlite3.connect(db_path)
    try:
        crt, mod, ver, models, decks = db.execute(
            "select crt, mod, ver, models, decks from col").fetchone()
        notes = db.execute("select id, guid, sfld, csum from notes").fetchall()
        cards = db.execute("select id, nid, ord from cards").fetchall()
    finally:
        db.close()
    assert (crt, mod, ver) == (946684800, STAMP * 1000, 11)  # review due days count from crt
    assert {n["name"] for n in json.loads(decks).values()} == {
        "Default", "Rad", "Rad::MSK", "Rad::MSK::Bone", "Rad::Neuro"}
    assert json.loads(decks)["1"]["name"] == "Default"
    assert {m["name"]: (m["type"], m["mod"]) for m in json.loads(models).values()} == {
        "pkg basic": (0, STAMP), "pkg cloze": (1, STAMP)}
    assert all(1 << 52 <= nid < 1 << 53 for nid, *_ in notes)
    assert sorted(cid - nid for cid, nid, _ in cards) == [0, 0, 2]  # card id = note id + ord
    ours = {guid: (sfld, csum) for _, guid, sfld, csum in notes}
    assert ours["basic-guid"][0] == "What is Ewing sarcoma?"
    import_package(col, package)  # Anki recomputes both: they must agree with ours
    assert {g: (s, c) for g, s, c in rows(col, "select guid, sfld, csum from notes")} == ours


def test_deck_names_differing_only_in_case_become_one_deck(col: Collection,
                                                           tmp_path: Path) -> None:
    notes = [PackageNote("a", BASIC, "Path::renal", ("1", ""), (), STAMP),
             PackageNote("b", BASIC, "path::Renal", ("2", ""), (), STAMP)]
    import_package(col, write_package(tmp_path / "out.apkg", notes, {}, timestamp=STAMP))
    names = {d.name for d in col.decks.all_names_and_ids()}
    assert names == {"Default", "Path", "Path::renal"}


@pytest.mark.parametrize(("note", "message"), [
    (PackageNote("x", BASIC, "D", ("only one field",), (), STAMP), "fields"),
    (PackageNote("x", BASIC, "D", ("a\x1fb", ""), (), STAMP), "fields"),
    (PackageNote("x", BASIC, "D", ("a", ""), ("two words",), STAMP), "tags"),
    (PackageNote("x", BASIC, "A::::B", ("a", ""), (), STAMP), "deck"),
    (PackageNote("x", CLOZE, "D", ("no deletion", ""), (), STAMP), "cloze"),
    (PackageNote("", BASIC, "D", ("a", ""), (), STAMP), "guid"),
])
def test_invalid_notes_are_refused(tmp_path: Path, note: PackageNote, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_package(tmp_path / "out.apkg", [note], {}, timestamp=STAMP)
    assert list(tmp_path.iterdir()) == []


def test_duplicate_guids_are_refused(tmp_path: Path) -> None:
    notes = [PackageNote("same", BASIC, "D", (str(i), ""), (), STAMP) for i in range(2)]
    with pytest.raises(ValueError, match="guid"):
        write_package(tmp_path / "out.apkg", notes, {}, timestamp=STAMP)


def test_write_replaces_atomically_and_a_failed_write_keeps_the_old_file(
        tmp_path: Path, image: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    path = out / "deck.apkg"
    path.write_bytes(b"stale")
    assert write_package(path, sample_notes(), {"a1b2-scan.png": image},
                         timestamp=STAMP) == path
    good = path.read_bytes()
    assert good != b"stale" and zipfile.is_zipfile(path)

    with pytest.raises(FileNotFoundError):
        write_package(path, sample_notes(), {"a1b2-scan.png": tmp_path / "missing.png"},
                      timestamp=STAMP + 1)
    assert path.read_bytes() == good
    assert [p.name for p in out.iterdir()] == ["deck.apkg"]  # no temp file left behind


def test_many_decks_write_fast(tmp_path: Path) -> None:
    """genanki's own writer is quadratic in decks; ours is linear.  Prints the time only."""
    for decks, per_deck in [(1000, 3), (1000, 20)]:
        notes = [
            PackageNote(f"g{d}-{i}", CLOZE if i % 3 == 0 else BASIC,
                        f"Root::Part {d % 10}::Deck {d}",
                        (f"{{{{c1::term {d} {i}}}}}", "") if i % 3 == 0 else (f"Q{d}/{i}", "A"),
                        ("speed",), STAMP)
            for d in range(decks) for i in range(per_deck)
        ]
        start = time.perf_counter()
        write_package(tmp_path / "speed.apkg", notes, {}, timestamp=STAMP)
        took = time.perf_counter() - start
        print(f"\n{decks} decks x {per_deck} notes ({len(notes)} notes): {took:.3f} s")


def test_notetype_json_and_schema_are_genankis() -> None:
    """The writer takes genanki's schema without importing genanki (its start-up cost), and
    its LaTeX defaults as constants: both must stay what genanki itself writes."""
    import genanki
    from genanki.apkg_schema import APKG_SCHEMA

    from anki_export.package import _LATEX_POST, _LATEX_PRE, _genanki_data

    assert (_LATEX_PRE, _LATEX_POST) == (genanki.Model.DEFAULT_LATEX_PRE,
                                         genanki.Model.DEFAULT_LATEX_POST)
    assert _genanki_data("apkg_schema").APKG_SCHEMA == APKG_SCHEMA


@pytest.mark.parametrize("count", [3, 2 * PackageWriter._BATCH + 1])
def test_updating_a_kept_collection_gives_the_rows_a_fresh_one_holds(tmp_path: Path,
                                                                      count: int) -> None:
    """An update finds each note by the id `add` gave it (in any order, past a batch of
    inserts) and changes the base where it is: the rows of a fresh package; an id that is
    not the note's is refused; an update that fails leaves the base as it was."""
    def notes(version: int) -> list[PackageNote]:
        return [PackageNote(f"g{n}", BASIC, "Rad", (f"Q{n}", f"A{n} v{version}"), ("t",),
                            STAMP + version) for n in range(count)]

    (tmp_path / "kept.anki2-journal").write_bytes(b"left by an update that was killed")
    with PackageWriter(tmp_path / "old.apkg", keep=tmp_path / "kept.anki2") as writer:
        ids = [writer.add(note) for note in notes(0)]
    assert not (tmp_path / "kept.anki2-journal").exists()  # of another collection
    with PackageWriter(tmp_path / "fresh.apkg", keep=tmp_path / "fresh.anki2") as writer:
        for note in notes(1):
            writer.add(note)
    def table(name: str, sql: str) -> list[Any]:
        with closing(sqlite3.connect(tmp_path / name)) as db:
            return db.execute(sql).fetchall()

    rows = "SELECT id, guid, mod, tags, flds, sfld, csum FROM notes ORDER BY id"
    before = table("kept.anki2", rows)
    with (pytest.raises(RuntimeError),
          PackageWriter(tmp_path / "x.apkg", base=tmp_path / "kept.anki2") as failing):
        failing.update(notes(1)[0], ids[0])
        raise RuntimeError("the build failed")
    assert table("kept.anki2", rows) == before
    copy = shutil.copyfile(tmp_path / "kept.anki2", tmp_path / "copy.anki2")
    with (pytest.raises(OSError),
          PackageWriter(tmp_path / "no folder" / "x.apkg", base=copy) as unwritten):
        unwritten.update(notes(1)[0], ids[0])
    assert not copy.exists()  # committed, but no package holds it: of no use to an update
    with PackageWriter(tmp_path / "updated.apkg", base=tmp_path / "kept.anki2") as writer:
        for note, nid in list(zip(notes(1), ids, strict=True))[::-1]:
            writer.update(note, nid)
        with pytest.raises(ValueError, match="no note 'g0'"):
            writer.update(notes(1)[0], ids[1])

    for sql in (rows, "SELECT id, nid, mod FROM cards ORDER BY id"):
        assert table("kept.anki2", sql) == table("fresh.anki2", sql)
    assert table("kept.anki2", "SELECT count(*) FROM notes WHERE flds LIKE '%v1'") == [
        (count,)]


def test_an_update_writes_the_bytes_of_a_fresh_zip(tmp_path: Path, image: Path) -> None:
    """An update in place changes the kept collection where it is: the package then holds
    the bytes a fresh zip of the updated collection and the same media holds."""
    media = {f"{n}-scan.png": image for n in range(3)}
    notes = sample_notes()
    with PackageWriter(tmp_path / "p.apkg", keep=tmp_path / "kept.anki2",
                       timestamp=STAMP) as writer:
        ids = [writer.add(note, media) for note in notes]
    with PackageWriter(tmp_path / "p.apkg", base=tmp_path / "kept.anki2",
                       timestamp=STAMP + 86400) as update:
        update.add_media(media)
        update.update(replace(notes[0], fields=("New question", "New answer")), ids[0])
    fresh = tmp_path / "fresh.apkg"
    write_zip(fresh, tmp_path / "kept.anki2", media, STAMP + 86400)
    assert (tmp_path / "p.apkg").read_bytes() == fresh.read_bytes()


def test_the_collection_is_deflated_at_zlibs_fastest_level(tmp_path: Path) -> None:
    """`archive._zip_info` sets the level through zipfile's private `_compresslevel` (public
    only from Python 3.13): this fails on a Python that no longer reads it."""
    collection = tmp_path / "c.anki2"
    collection.write_bytes(b"".join(b"row %d of the collection\n" % n for n in range(20_000)))
    write_zip(tmp_path / "p.apkg", collection, {}, STAMP)
    deflate = zlib.compressobj(1, zlib.DEFLATED, -15)
    fastest = deflate.compress(collection.read_bytes()) + deflate.flush()
    with zipfile.ZipFile(tmp_path / "p.apkg") as zf:
        assert zf.getinfo("collection.anki2").compress_size == len(fastest)
