"""The page is served at `/` with a strict Content-Security-Policy, its assets under `/ui/`,
the vendored libraries with their licences, and the API's own 404s stay JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from sandbox_analyst.api import create_app
from sandbox_analyst.config import Settings
from sandbox_analyst.web import STATIC_DIR

REPOSITORY = Path(__file__).parents[2]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    # Synchronous: the browser tests next door keep Playwright's loop running in this thread.
    with TestClient(create_app(settings)) as http:
        yield http


def csp_directives(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2] for part in policy.split(";")
    }


def test_the_page_is_served_at_the_root_with_a_strict_policy(
    client: TestClient,
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/ui/js/app.js">' in response.text
    directives = csp_directives(response)
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_page_has_no_inline_script_or_style() -> None:
    html = (STATIC_DIR / "index.html").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "<style" not in html
    assert "style=" not in html
    assert not re.search(r"\son[a-z]+=", html)


def test_assets_are_served_with_the_same_policy_and_a_javascript_type(
    client: TestClient,
) -> None:
    response = client.get("/ui/js/app.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert csp_directives(response)["script-src"] == "'self'"
    styles = client.get("/ui/styles.css")
    assert styles.headers["content-type"].startswith("text/css")


def test_every_module_import_resolves_to_a_shipped_file() -> None:
    modules = [*(STATIC_DIR / "js").glob("*.js")]
    assert modules
    for module in modules:
        for target in re.findall(r'^import .* from "(\.[^"]+)";$', module.read_text(), re.M):
            assert (module.parent / target).resolve().is_file(), f"{module.name}: {target}"


def test_the_api_keeps_its_json_404s(client: TestClient) -> None:
    for path in ("/api/nothing-here", "/api/conversations/x/nothing", "/ui/nothing.js"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert (client.get("/openapi.json")).status_code == 200


def test_paths_outside_the_assets_are_not_served(client: TestClient) -> None:
    response = client.get("/ui/../serving.py")
    assert response.status_code == 404
    assert (client.get("/ui/%2e%2e/serving.py")).status_code == 404


@pytest.mark.parametrize(
    ("library", "files"),
    [
        ("dompurify", ["purify.es.js", "LICENSE", "LICENSE-MPL"]),
        ("marked", ["marked.esm.js", "LICENSE"]),
        ("highlightjs", ["core.min.js", "languages/python.min.js", "LICENSE"]),
    ],
)
def test_vendored_libraries_ship_with_their_licences(library: str, files: list[str]) -> None:
    for name in files:
        assert (STATIC_DIR / "vendor" / library / name).stat().st_size > 0


def test_vendored_versions_are_the_pinned_ones() -> None:
    pinned = json.loads((REPOSITORY / "web" / "package.json").read_text())["dependencies"]
    lines = (STATIC_DIR / "vendor" / "VERSIONS").read_text().splitlines()
    vendored = dict(line.split() for line in lines)
    assert vendored == pinned
