"""IDs are a contract: these known inputs must give these known outputs forever."""

from anki_export.ids import note_guid, object_id


def test_note_guid_is_pinned() -> None:
    assert note_guid("/rad/note/", "hallmark") == "o60W15F*3c"
    assert note_guid("/rad/note/", "^pinned") == "yvMrobY)u+"


def test_object_ids_are_pinned_and_in_range() -> None:
    assert object_id("deck", "Rad::MSK") == 8610581114790436
    assert 2**41 <= object_id("notetype", "anki-export basic") < 2**53
