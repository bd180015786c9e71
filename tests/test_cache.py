"""The render cache's vault-sized values, stored in parts."""

from __future__ import annotations

import pickle
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from anki_export.cache import Parts, RenderCache, load_pickle
from anki_export.cli import cli
from anki_export.parse import Note


def saved(path: Path, key: str, head: object, items: Iterable[object],
          changed: list[int] | None = None) -> None:
    cache = RenderCache(path)
    cache.get_parts(key)  # what an update read
    cache.put_parts(key, head, items, changed=changed)
    cache.save()


def test_a_value_in_parts_reads_back_whole_and_a_missing_part_reads_as_none(
        tmp_path: Path) -> None:
    path = tmp_path / "render.sqlite"
    items: list[object] = [(f"guid{n}", (f"key{n}", "a.md", None)) for n in range(4_500)]
    saved(path, "facts", "head", items)  # three parts
    assert RenderCache(path).get_parts("facts") == ("head", items)
    saved(path, "facts", "head", iter(items))  # taken a part at a time: the same value
    assert RenderCache(path).get_parts("facts") == ("head", items)
    assert RenderCache(path).get_parts("other") is None

    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM notes WHERE key IN "
                   "(SELECT key FROM notes WHERE key LIKE 'facts/%' LIMIT 1)")
    assert RenderCache(path).get_parts("facts") is None  # then a full build, not half a value


def test_an_update_rewrites_only_the_parts_it_changed(tmp_path: Path) -> None:
    path = tmp_path / "render.sqlite"
    items: list[object] = [f"note{n}" for n in range(4_500)]
    saved(path, "layout", 1, items)
    edited = [*items[:2_500], "note2500, edited", *items[2_501:]]
    saved(path, "layout", 2, [*edited[:1], "not written: the caller said only 2500 changed",
                              *edited[2:]], changed=[2_500])
    assert RenderCache(path).get_parts("layout") == (2, edited)


def test_parts_of_another_size_are_all_written_again(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A value stored by a version with another part size: an update cannot keep its parts
    by their places, so it writes them all."""
    path = tmp_path / "render.sqlite"
    items: list[object] = [f"note{n}" for n in range(1_000)]
    monkeypatch.setattr(Parts, "SIZE", 2_000)
    saved(path, "layout", 1, items)
    monkeypatch.setattr(Parts, "SIZE", 300)
    edited = [*items[:700], "note700, edited", *items[701:]]
    saved(path, "layout", 2, edited, changed=[700])
    assert RenderCache(path).get_parts("layout") == (2, edited)


def test_a_head_never_reads_with_another_builds_parts(tmp_path: Path) -> None:
    """Parts are stored under digests of their contents and the head lists them: the head of
    a build that stopped before writing its own (here: the earlier build's, put back) reads
    as that build's value, or as missing once its parts are gone, never as a mix."""
    path = tmp_path / "render.sqlite"
    first: list[object] = [f"a{n}" for n in range(4_500)]
    saved(path, "layout", 1, first)
    with sqlite3.connect(path) as db:
        old_head = db.execute("SELECT data FROM notes WHERE key = 'layout'").fetchone()[0]
    saved(path, "layout", 2, [*first[:4_000], *(f"b{n}" for n in range(500))], changed=[4_000])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE notes SET data = ? WHERE key = 'layout'", (old_head,))
    assert RenderCache(path).get_parts("layout") == (1, first)  # its own parts, all of them

    saved(path, "other", 0, [])  # a build that read no layout drops its parts
    with sqlite3.connect(path) as db:
        db.execute("INSERT OR REPLACE INTO notes VALUES ('layout', ?)", (old_head,))
    assert RenderCache(path).get_parts("layout") is None


def test_a_value_kept_as_read_takes_a_new_head(tmp_path: Path) -> None:
    """An update that changed no card's key keeps the manifest's facts as stored, under the
    digest of the manifest it wrote."""
    path = tmp_path / "render.sqlite"
    items: list[object] = [(f"guid{n}", (f"key{n}", "a.md", None)) for n in range(4_500)]
    saved(path, "facts", "old digest", items)
    cache = RenderCache(path)
    assert not cache.keep_parts("facts", "new digest")  # nothing read yet
    assert cache.get_parts("facts") == ("old digest", items)
    assert cache.keep_parts("facts", "new digest")
    cache.save()
    assert RenderCache(path).get_parts("facts") == ("new digest", items)


def test_saving_drops_the_entries_this_build_did_not_use(tmp_path: Path) -> None:
    """The cache never outgrows the vault: what a build neither read, kept nor put goes."""
    path = tmp_path / "render.sqlite"
    first = RenderCache(path)
    for key in ("a", "b", "c"):
        first.put(key, key.upper())
    first.save()
    second = RenderCache(path)
    second.load(["a"])
    assert second.get("a") == "A"
    second.keep(["b"])
    second.put("d", "D")
    second.save()
    with sqlite3.connect(path) as db:
        assert sorted(key for key, in db.execute("SELECT key FROM notes")) == ["a", "b", "d"]


class _RunsCode:
    """What a crafted cache entry could hold: a pickle that calls a function on loading."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple[object, ...]:
        return (Path.write_text, (self.target, "ran"))


def cache_rows(out: Path) -> list[tuple[str, bytes]]:
    with closing(sqlite3.connect(out / ".anki-export-cache" / "render.sqlite")) as db:
        return list(db.execute("SELECT key, data FROM notes"))


def notes_in(value: object) -> Iterator[Note]:
    if isinstance(value, Note):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from notes_in(item)


def test_the_cache_is_read_as_data_never_as_code(tmp_path: Path) -> None:
    """Every entry a build stores (cards, notes and their sections, layouts, the manifest's
    facts) loads through the restricted loader; an entry naming anything else (a CI cache
    from someone else's branch) is refused unrun, and the build renders afresh."""
    vault, out = tmp_path / "v", tmp_path / "out"
    shutil.copytree(Path(__file__).resolve().parents[1] / "notes", vault)
    runner = CliRunner()
    assert runner.invoke(cli, ["build", str(vault), "-o", str(out)]).exit_code == 0
    rows = cache_rows(out)
    assert len(rows) > 20
    notes = [note for _, data in rows for note in notes_in(load_pickle(data))]
    assert notes and all(list(note.sections) for note in notes)  # loaded the same way
    ran = tmp_path / "ran.txt"
    crafted = pickle.dumps(_RunsCode(ran))
    with pytest.raises(pickle.UnpicklingError, match="not something the cache holds"):
        load_pickle(crafted)
    with closing(sqlite3.connect(out / ".anki-export-cache" / "render.sqlite")) as db:
        db.execute("UPDATE notes SET data = ?", (crafted,))
        db.commit()
    home = vault / "Home.md"
    home.write_text(home.read_text(encoding="utf-8") + "\nedited\n", encoding="utf-8")
    result = runner.invoke(cli, ["build", str(vault), "-o", str(out)])
    assert result.exit_code == 0 and "1 changed" in result.output and not ran.exists()
