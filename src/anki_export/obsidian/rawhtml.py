"""Find the `<img>` tags in raw HTML that a note carries, so they resolve like Markdown images.

A parser, not a regex: attributes may be quoted either way, unquoted, or spread over lines. Every
other part of the fragment is written back as it came; sanitising happens later, on the whole
card, in `render.sanitise`.
"""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

ImageHtml = Callable[[dict[str, str], int], str]
"""The replacement for one `<img>`, given its attributes and its 0-based line in the fragment."""


def rewrite_images(fragment: str, image: ImageHtml) -> str:
    if "<img" not in fragment.lower():
        return fragment
    parser = _ImageRewriter(image)
    parser.feed(fragment)
    parser.close()
    return "".join(parser.out)


class _ImageRewriter(HTMLParser):
    def __init__(self, image: ImageHtml) -> None:
        super().__init__(convert_charrefs=False)
        self.image = image
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            line = self.getpos()[0] - 1
            self.out.append(self.image({k: v or "" for k, v in attrs}, line))
        else:
            self.out.append(self.get_starttag_text() or "")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.out.append(f"&#{name};")
