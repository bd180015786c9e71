"""How cards, notes and diagnostics are pickled, for the render cache and the worker processes.

Registered once, by the modules that pickle (`collect`, `notes`); with the `fork` start method
the worker processes inherit it.
"""

from __future__ import annotations

import copyreg
import dataclasses
from functools import cache
from typing import Any

from .cards import Card
from .errors import Diagnostic
from .notetypes import notetype_named
from .package import NoteType
from .parse import Note, Section


@cache
def register_picklers() -> None:
    # Cards name their notetype; pickling it by name keeps cache entries and the results that
    # worker processes send back small (the CSS would otherwise be copied into every card).
    copyreg.pickle(NoteType, lambda notetype: (notetype_named, (notetype.name,)))
    for cls in (Card, Diagnostic, Note, Section):
        pickle_positionally(cls)


def pickle_positionally(cls: type[Any]) -> None:
    """Pickle a frozen, slotted dataclass as its constructor's arguments: several times faster
    to load than the default, which looks up the class's fields for every object."""
    names = tuple(f.name for f in dataclasses.fields(cls))
    copyreg.pickle(cls, lambda obj: (cls, tuple(getattr(obj, n) for n in names)))
