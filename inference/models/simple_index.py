"""Finding a file's link in a PEP 503 "simple" index page (PyPI, or a mirror such as
devpi or Artifactory): the way pip finds it, so a mirror set up for pip works here."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Optional
from urllib.parse import unquote, urljoin, urlsplit


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []  # (href, text)
        self._href: Optional[str] = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def find_file(page: str, page_url: str, name: str) -> tuple[Optional[str], Optional[str]]:
    """(absolute URL, sha256 the index states or None) of the link to `name`, or
    (None, None) when the page has no such file."""
    parser = _Links()
    parser.feed(page)
    for href, text in parser.links:
        path = urlsplit(href).path
        if text == name or unquote(path.rsplit("/", 1)[-1]) == name:
            url, _, fragment = urljoin(page_url, href).partition("#")
            algo, _, digest = fragment.partition("=")
            return url, (digest.lower() if algo == "sha256" and digest else None)
    return None, None
