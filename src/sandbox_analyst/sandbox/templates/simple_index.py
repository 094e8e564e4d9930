"""Finding a wheel file on a PEP 503 simple index (or a find-links page or directory), for the
interpreter the sandboxes run on. Only `.whl` links are ever considered: an sdist would have
to run its build code."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
from packaging.tags import Tag, sys_tags
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    canonicalize_version,
    parse_wheel_filename,
)

from sandbox_analyst.sandbox.templates.errors import IndexUnreachable, NoWheelAvailable
from sandbox_analyst.sandbox.templates.uv_runner import PackageIndex, Pin

_ACCEPT = "text/html;q=1.0, application/vnd.pypi.simple.v1+html;q=0.9"


@dataclass(frozen=True)
class WheelLink:
    filename: str
    url: str
    """http(s) URL, or a local path for a find-links directory."""
    sha256: str | None
    rank: int
    """Position of its best tag among the interpreter's supported tags (lower: better)."""


class SimpleIndexClient:
    def __init__(self, index: PackageIndex, http: httpx.Client) -> None:
        self.index = index
        self.http = http
        self._tags = {tag: rank for rank, tag in enumerate(sys_tags())}

    def best_wheel(self, pin: Pin) -> WheelLink:
        """The most specific wheel of `pin` this interpreter can use, from the first source
        (index, extra indexes, find-links) that has one."""
        candidates: list[WheelLink] = []
        for url in self.index.urls:
            page = f"{url.rstrip('/')}/{pin.name}/"
            candidates += self._matching(pin, self._links(page))
            if candidates:
                break
        if not candidates:
            for link in self.index.find_links:
                candidates += self._matching(pin, self._find_links(link))
        if not candidates:
            raise NoWheelAvailable(
                f"no wheel of {pin.requirement()} for this interpreter on "
                f"{self.index.describe()} (source distributions are never built)"
            )
        return min(candidates, key=lambda link: link.rank)

    def _matching(self, pin: Pin, links: list[tuple[str, str]]) -> list[WheelLink]:
        found = []
        for filename, url in links:
            rank = self._rank(pin, filename)
            if rank is None:
                continue
            clean, fragment = urldefrag(url)
            sha256 = fragment.removeprefix("sha256=") if fragment.startswith("sha256=") else None
            found.append(WheelLink(filename, clean, sha256, rank))
        return found

    def _rank(self, pin: Pin, filename: str) -> int | None:
        if not filename.endswith(".whl"):
            return None
        try:
            name, version, _build, tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            return None
        if canonicalize_name(name) != pin.name:
            return None
        if canonicalize_version(version) != canonicalize_version(pin.version):
            return None
        ranks = [self._tags[tag] for tag in tags if isinstance(tag, Tag) and tag in self._tags]
        return min(ranks) if ranks else None

    def _links(self, page: str) -> list[tuple[str, str]]:
        try:
            response = self.http.get(page, headers={"Accept": _ACCEPT})
        except httpx.TransportError as exc:
            raise IndexUnreachable(f"package index unreachable at {page}: {exc}") from exc
        if response.status_code == 404:
            return []
        if response.status_code >= 400:
            raise IndexUnreachable(f"package index answered {response.status_code} for {page}")
        parser = _Anchors()
        parser.feed(response.text)
        return [(text, urljoin(str(response.url), href)) for text, href in parser.links]

    def _find_links(self, location: str) -> list[tuple[str, str]]:
        if urlsplit(location).scheme in ("http", "https"):
            return self._links(location)
        directory = Path(location.removeprefix("file://"))
        if not directory.is_dir():
            return []
        return [(path.name, str(path)) for path in sorted(directory.glob("*.whl"))]


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            # The file name is the link text on PEP 503 pages; else the last part of the URL.
            text = "".join(self._text).strip() or urlsplit(self._href).path.rsplit("/", 1)[-1]
            self.links.append((text, self._href))
            self._href = None
