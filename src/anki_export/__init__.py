"""anki-export: turn a vault of Markdown notes into Anki decks that re-import cleanly."""

__version__ = "0.1.0"
__all__ = ["__version__"]
