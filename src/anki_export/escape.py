"""HTML escaping in the form nh3 (html5ever) writes it back.

Text escapes `&`, `<`, `>` and the no-break space; attribute values the same and `"` (as the
HTML standard serialises since 2025). HTML built this way from trusted parts is already what
`render.sanitise` would return, which is how the writer (`pulldown/`) skips the
sanitiser without changing a byte.
"""

from __future__ import annotations

import re


def text(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\xa0", "&nbsp;"))


def attribute(value: str) -> str:
    return text(value).replace('"', "&quot;")


CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters: invisible on a card, and \x1f would split Anki's fields."""
_ANKI_TAG = re.compile(r"\[(?=sound:|anki:|latex\]|\$\$?\])", re.I)
"""The `[` of what Anki reads in a field's HTML as its own tags: `[sound:…]` and
`[anki:tts …]` (played), `[anki:play:…]` (a play button), `[latex]`, `[$]` and `[$$]`
(typeset to images)."""


def field(html: str) -> str:
    """Clean HTML as a card's field holds it: without control characters, and with Anki's own
    tags written as text, their `[` as a character reference, which the card shows as `[` and
    Anki's patterns (run on the field's HTML) never match. Called after sanitising, which would
    turn the reference back into `[`, and after removing the control characters, which could
    hide a tag (`[\x01sound:…]`) until then."""
    html = CONTROL.sub("", html)
    return _ANKI_TAG.sub("&#91;", html) if "[" in html else html
