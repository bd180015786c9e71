"""HTML escaping in the form nh3 (html5ever) writes it back.

Text escapes `&`, `<`, `>` and the no-break space; attribute values the same and `"` (as the
HTML standard serialises since 2025). HTML built this way from trusted parts is already what
`render.sanitise` would return, which is how the fast path (`pulldown/`) skips the
sanitiser without changing a byte.
"""

from __future__ import annotations


def text(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\xa0", "&nbsp;"))


def attribute(value: str) -> str:
    return text(value).replace('"', "&quot;")
