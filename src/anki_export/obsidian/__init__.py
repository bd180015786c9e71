"""Obsidian and Digital Garden syntax as markdown-it plugins, one function each.

Each plugin adds rules to the token stream instead of rewriting HTML afterwards, so code spans
and fences are never touched and every construct knows its source line. Vault lookups reach the
rules through `env["render"]`, the `RenderState` of the Markdown being rendered. `parser` puts
them together; nothing here imports markdown-it until a section needs it (the fast path in
`pulldown/` shares the plugins' helpers, not their parser).
"""
