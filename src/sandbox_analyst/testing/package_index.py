"""A Python package index on 127.0.0.1 for tests and benchmarks: wheels (and sdists) written by
hand, served in the PEP 503 simple layout, so that template builds and approved installs run
offline against a real HTTP index.

    index = LocalPackageIndex(tmp_path / "index")
    index.add_wheel("analyst-probe", "1.0", {"analyst_probe/__init__.py": "VALUE = 1\\n"})
    with index.serving() as url:            # e.g. http://127.0.0.1:41234/simple
        ...
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import re
import tarfile
import threading
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def normalize(name: str) -> str:
    """PEP 503 project name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class IndexFile:
    project: str
    filename: str
    path: Path
    sha256: str
    metadata: bytes | None
    """Core metadata served beside the file (PEP 658); None for an sdist."""
    requires_python: str | None = None


@dataclass
class LocalPackageIndex:
    directory: Path
    files: list[IndexFile] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    """Paths requested so far, in order (to assert what was, or was not, downloaded)."""

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)

    def add_wheel(
        self,
        name: str,
        version: str,
        modules: Mapping[str, str | bytes],
        *,
        requires: Sequence[str] = (),
        tag: str = "py3-none-any",
        requires_python: str | None = None,
    ) -> IndexFile:
        """A valid wheel: the given files, METADATA, WHEEL and a RECORD with their hashes."""
        stem = f"{_wheel_name(name)}-{version}"
        dist_info = f"{stem}.dist-info"
        metadata = _metadata(name, version, requires, requires_python)
        entries: dict[str, bytes] = {
            path: content.encode() if isinstance(content, str) else content
            for path, content in modules.items()
        }
        entries[f"{dist_info}/METADATA"] = metadata
        entries[f"{dist_info}/WHEEL"] = (
            f"Wheel-Version: 1.0\nGenerator: analyst-tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
        ).encode()
        record = [
            f"{path},sha256={_record_hash(data)},{len(data)}" for path, data in entries.items()
        ]
        record.append(f"{dist_info}/RECORD,,")
        entries[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, data in entries.items():
                archive.writestr(path, data)
        return self._store(name, f"{stem}-{tag}.whl", buffer.getvalue(), metadata, requires_python)

    def add_sdist(self, name: str, version: str, *, canary: Path) -> IndexFile:
        """A source distribution whose setup.py would create `canary` if anything ran it."""
        stem = f"{_wheel_name(name)}-{version}"
        setup = (
            "import pathlib\n"
            f"pathlib.Path({str(canary)!r}).write_text('an sdist was built')\n"
            "from setuptools import setup\n"
            f"setup(name={name!r}, version={version!r})\n"
        )
        files = {
            f"{stem}/PKG-INFO": _metadata(name, version, (), None),
            f"{stem}/setup.py": setup.encode(),
        }
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for path, data in files.items():
                info = tarfile.TarInfo(path)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        return self._store(name, f"{stem}.tar.gz", buffer.getvalue(), None, None)

    def _store(
        self,
        name: str,
        filename: str,
        data: bytes,
        metadata: bytes | None,
        requires_python: str | None,
    ) -> IndexFile:
        path = self.directory / filename
        path.write_bytes(data)
        entry = IndexFile(
            normalize(name),
            filename,
            path,
            hashlib.sha256(data).hexdigest(),
            metadata,
            requires_python,
        )
        self.files = [existing for existing in self.files if existing.filename != filename]
        self.files.append(entry)
        return entry

    def downloaded(self, filename: str) -> bool:
        return any(request.endswith(f"/files/{filename}") for request in self.requests)

    @contextmanager
    def serving(self) -> Iterator[str]:
        """Serve the index on 127.0.0.1 (a free port) until the block ends; yields the simple
        index URL."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="package-index", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/simple"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()

    def _project_page(self, project: str) -> bytes | None:
        links = []
        for entry in self.files:
            if entry.project != project:
                continue
            attributes = ""
            if entry.requires_python:
                attributes += f' data-requires-python="{html.escape(entry.requires_python)}"'
            if entry.metadata is not None:
                digest = hashlib.sha256(entry.metadata).hexdigest()
                attributes += f' data-dist-info-metadata="sha256={digest}"'
                attributes += f' data-core-metadata="sha256={digest}"'
            href = f"/files/{entry.filename}#sha256={entry.sha256}"
            links.append(f'<a href="{href}"{attributes}>{html.escape(entry.filename)}</a><br>')
        if not links:
            return None
        body = "\n".join(links)
        return f"<!DOCTYPE html><html><body>\n{body}\n</body></html>\n".encode()

    def _root_page(self) -> bytes:
        projects = sorted({entry.project for entry in self.files})
        links = "\n".join(f'<a href="/simple/{name}/">{name}</a><br>' for name in projects)
        return f"<!DOCTYPE html><html><body>\n{links}\n</body></html>\n".encode()

    def _file(self, filename: str) -> bytes | None:
        for entry in self.files:
            if entry.filename == filename:
                return entry.path.read_bytes()
            if entry.metadata is not None and filename == f"{entry.filename}.metadata":
                return entry.metadata
        return None


def _handler(index: LocalPackageIndex) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            index.requests.append(path)
            body, kind = None, "text/html"
            if path in ("/simple", "/simple/"):
                body = index._root_page()
            elif path.startswith("/simple/"):
                body = index._project_page(normalize(path.removeprefix("/simple/").strip("/")))
            elif path.startswith("/files/"):
                body, kind = index._file(path.removeprefix("/files/")), "application/octet-stream"
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _wheel_name(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name)


def _record_hash(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _metadata(
    name: str, version: str, requires: Sequence[str], requires_python: str | None
) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {requirement}" for requirement in requires]
    return ("\n".join(lines) + "\n").encode()
