"""Obsidian and Digital Garden syntax, one small module per construct: what the writer on
pulldown-cmark's events (`pulldown/`) needs to read it and to resolve it against the vault.
"""
