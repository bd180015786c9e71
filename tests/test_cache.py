"""The render cache's vault-sized values, stored in parts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from anki_export.cache import RenderCache


def test_a_value_in_parts_reads_back_whole_and_a_missing_part_reads_as_none(
        tmp_path: Path) -> None:
    path = tmp_path / "render.sqlite"
    items = [(f"guid{n}", (f"key{n}", "a.md", None)) for n in range(4_500)]  # three parts
    cache = RenderCache(path)
    cache.put_parts("facts", "head", items)
    cache.save()

    assert RenderCache(path).get_parts("facts") == ("head", items)
    assert RenderCache(path).get_parts("other") is None

    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM notes WHERE key = 'facts/1'")
    assert RenderCache(path).get_parts("facts") is None  # then a full build, not half a value


def test_an_update_rewrites_only_the_parts_it_changed(tmp_path: Path) -> None:
    path = tmp_path / "render.sqlite"
    items = [f"note{n}" for n in range(4_500)]
    cache = RenderCache(path)
    cache.put_parts("layout", 1, items)
    cache.save()

    cache = RenderCache(path)
    _, read = cache.get_parts("layout") or (None, [])
    read[2_500] = "note2500, edited"
    read[0] = "not written: the caller said only item 2500 changed"
    cache.put_parts("layout", 2, read, changed=[2_500])
    cache.save()

    expected = [*items[:2_500], "note2500, edited", *items[2_501:]]
    assert RenderCache(path).get_parts("layout") == (2, expected)
