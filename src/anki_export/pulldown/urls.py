"""Link addresses as the garden's markdown-it writes them: percent-encoded by mdurl (the URL
library markdown-it itself uses), a web host's name in punycode; autolinks' text decoded.

The same bytes as markdown-it's `normalizeLink` and `normalizeLinkText`, so a card's links do
not change with the renderer (`tests/test_pulldown.py` compares them).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from contextlib import suppress

import mdurl

__all__ = ["link_text", "link_url"]

_RECODE_HOST_FOR = ("http:", "https:", "mailto:")
_LABEL_DOTS = re.compile("[\x2e\u3002\uff0e\uff61]")
_NON_ASCII = re.compile("[^\0-\x7e]")


def link_url(url: str) -> str:
    """The `href` of a link to `url`."""
    parsed = _recoded(url, _to_ascii)
    if not parsed.hostname or ":" not in parsed.hostname:
        return mdurl.encode(mdurl.format(parsed))
    return mdurl.format(parsed._replace(  # an IPv6 host: its colons stay
        protocol=parsed.protocol and mdurl.encode(parsed.protocol),
        auth=parsed.auth and mdurl.encode(parsed.auth),
        hostname=mdurl.encode(parsed.hostname),
        pathname=parsed.pathname and mdurl.encode(parsed.pathname),
        search=parsed.search and mdurl.encode(parsed.search),
        hash=parsed.hash and mdurl.encode(parsed.hash)))


def link_text(url: str) -> str:
    """The text an autolink (`<https://…>`) shows: its address, decoded."""
    return mdurl.decode(mdurl.format(_recoded(url, _to_unicode)),
                        mdurl.DECODE_DEFAULT_CHARS + "%")


def _recoded(url: str, recode: Callable[[str], str]) -> mdurl.URL:
    parsed = mdurl.parse(url, slashes_denote_host=True)
    if parsed.hostname and (not parsed.protocol or parsed.protocol in _RECODE_HOST_FOR):
        with suppress(UnicodeError, ValueError):  # not punycode: the name stays as it is
            parsed = parsed._replace(hostname=_domain(parsed.hostname, recode))
    return parsed


def _domain(name: str, recode: Callable[[str], str]) -> str:
    """Each label of a domain recoded; in a mail address, only what follows its first `@`
    (and up to a second one), as markdown-it's punycode module reads it."""
    parts = name.split("@")
    user = f"{parts[0]}@" if len(parts) > 1 else ""
    return user + ".".join(recode(label) for label in _LABEL_DOTS.split(parts[-1] if len(
        parts) == 1 else parts[1]))


def _to_ascii(label: str) -> str:
    return "xn--" + codecs.encode(label, "punycode").decode() if _NON_ASCII.search(label) \
        else label


def _to_unicode(label: str) -> str:
    return codecs.decode(label[4:].lower().encode(), "punycode") if label.startswith(
        "xn--") else label
