"""Bad input gets a clear 4xx with a stable error code, and leaves nothing behind."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from sandbox_analyst.service import Services
from tests.api.conftest import CSV_BYTES, SharedServer, World, bearer

# The app lives on the session's event loop; so do the tests that use it.
on_session_loop = pytest.mark.asyncio(loop_scope="session")


async def upload_raw(
    client: httpx.AsyncClient, world: World, filename: bytes, content: bytes
) -> httpx.Response:
    """An upload with the file name sent byte for byte (HTTP clients escape some
    characters, like quotes and control characters, before sending)."""
    boundary = b"b0undary"
    body = (
        b"--"
        + boundary
        + b'\r\nContent-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\n\r\n'
        + content
        + b"\r\n--"
        + boundary
        + b"--\r\n"
    )
    return await client.post(
        "/api/files",
        content=body,
        headers={
            **world.headers("owner"),
            "Content-Type": "multipart/form-data; boundary=b0undary",
        },
    )


def stored_blobs(services: Services) -> list[Path]:
    root = services.settings.data_dir / "blobs"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@on_session_loop
async def test_malformed_json_is_a_400(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        "/api/assistants",
        content=b'{"name": "x",',
        headers={**world.headers("owner"), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 5}, "name"),
        ({"name": "ok", "memory_mb": "lots"}, "memory_mb"),
        ({"name": "ok", "tools": "execute_code"}, "tools"),
        ({"name": "ok", "visibility": "secret"}, "visibility"),
        ({"name": "x" * 201}, "name"),
        ({"name": "ok", "description": "d" * 2001}, "description"),
        ({"name": "tab\there"}, "name"),
        ({"name": "nul\x00"}, "name"),
        ({"name": "ok", "instructions": "a\x00b"}, "instructions"),
        ({"name": "ok", "owner_id": "someone"}, "owner_id"),
        ({}, "name"),
    ],
)
@on_session_loop
async def test_invalid_fields_are_named(
    client: httpx.AsyncClient, world: World, body: dict[str, object], field: str
) -> None:
    response = await client.post("/api/assistants", json=body, headers=world.headers("owner"))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["field"] == field
    assert field in error["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/assistants/{id}",
        "/api/conversations/{id}",
        "/api/files/{id}",
        "/api/files/{id}/content",
    ],
)
@pytest.mark.parametrize(
    "unknown", ["AAAAAAAAAAAAAAAAAAAAAA", "..%2F..%2Fetc", "%00%0A", "x" * 300]
)
@on_session_loop
async def test_unknown_ids_are_404(
    client: httpx.AsyncClient, world: World, path: str, unknown: str
) -> None:
    response = await client.get(path.format(id=unknown), headers=world.headers("owner"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@on_session_loop
async def test_duplicate_assistant_names_conflict_per_owner(
    client: httpx.AsyncClient, world: World
) -> None:
    body = {"name": "assistant"}  # alice already has one of that name
    response = await client.post("/api/assistants", json=body, headers=world.headers("owner"))
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "you already have an assistant named 'assistant'",
        "field": "name",
    }
    # The same name is fine for someone else, and renaming into a taken name conflicts too.
    mine = await client.post("/api/assistants", json=body, headers=world.headers("other"))
    assert mine.status_code == 201
    renamed = await client.patch(
        f"/api/assistants/{world.ids['public_assistant']}",
        json={"name": "assistant"},
        headers=world.headers("owner"),
    )
    assert renamed.status_code == 409


@on_session_loop
async def test_duplicate_file_names_are_kept_apart(client: httpx.AsyncClient, world: World) -> None:
    ids = set()
    for content in (b"a,b\n1,2\n", b"a,b\n3,4\n"):
        response = await client.post(
            "/api/files", files={"file": ("same.csv", content)}, headers=world.headers("owner")
        )
        ids.add(response.json()["id"])
    assert len(ids) == 2
    for file_id in ids:
        meta = (await client.get(f"/api/files/{file_id}", headers=world.headers("owner"))).json()
        assert meta["name"] == "same.csv"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd.csv", "passwd.csv"),
        ("..\\..\\windows\\sales.csv", "sales.csv"),
        ("/abs/path/.hidden.csv", "hidden.csv"),
        ("bell\x07and\x1bescape.csv", "bellandescape.csv"),
        ("données‮vsc.exe", "donnéesvsc.exe"),
        ("..", "file"),
    ],
)
@on_session_loop
async def test_file_names_are_sanitised(
    client: httpx.AsyncClient, world: World, services: Services, sent: str, kept: str
) -> None:
    response = await upload_raw(client, world, sent.encode(), CSV_BYTES)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == kept
    root = services.settings.data_dir / "blobs"
    assert all(root in p.parents for p in stored_blobs(services))


@on_session_loop
async def test_an_upload_over_the_limit_is_413_and_leaves_nothing(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    before = stored_blobs(services)
    too_big = b"a,b\n" + b"1,2\n" * (300 * 1024)  # 1.2 MiB against a 1 MiB limit
    response = await client.post(
        "/api/files", files={"file": ("big.csv", too_big)}, headers=world.headers("owner")
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert stored_blobs(services) == before
    listed = await client.get("/api/files", headers=world.headers("owner"))
    assert [f["name"] for f in listed.json()] == ["sales.csv"]


@pytest.mark.parametrize(
    "content",
    [
        b"\x1f\x8b\x08\x00" + b"\x00" * 64,
        b"\x7fELF\x02\x01\x01" + b"\x00" * 64,
        b"PK\x03\x04" + b"\x00" * 64 + b"word/document.xml",
    ],
    ids=["gzip", "elf", "docx"],
)
@on_session_loop
async def test_unsupported_content_is_415_whatever_the_name(
    client: httpx.AsyncClient, world: World, services: Services, content: bytes
) -> None:
    before = stored_blobs(services)
    response = await client.post(
        "/api/files",
        files={"file": ("looks.csv", content, "text/csv")},
        headers=world.headers("owner"),
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert stored_blobs(services) == before


@on_session_loop
async def test_an_upload_must_be_multipart_with_a_file_part(
    client: httpx.AsyncClient, world: World
) -> None:
    as_json = await client.post("/api/files", json={"x": 1}, headers=world.headers("owner"))
    assert as_json.status_code == 422
    assert as_json.json()["error"]["field"] == "file"
    wrong_part = await client.post(
        "/api/files", files={"other": ("a.csv", CSV_BYTES)}, headers=world.headers("owner")
    )
    assert wrong_part.status_code == 422
    assert "file" in wrong_part.json()["error"]["message"]


@on_session_loop
async def test_downloads_carry_a_safe_content_disposition(
    client: httpx.AsyncClient, world: World
) -> None:
    uploaded = await upload_raw(client, world, "rés\\ults;x.csv".encode(), CSV_BYTES)
    assert uploaded.json()["name"] == "ults;x.csv"  # a backslash is a path separator
    uploaded = await upload_raw(client, world, "résumé;1.csv".encode(), CSV_BYTES)
    response = await client.get(
        f"/api/files/{uploaded.json()['id']}/content", headers=world.headers("owner")
    )
    assert response.status_code == 200
    assert response.content == CSV_BYTES
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"r_sum__1.csv\"; filename*=UTF-8''r%C3%A9sum%C3%A9%3B1.csv"
    )
    assert response.headers["x-content-type-options"] == "nosniff"


def test_an_upload_cut_off_mid_stream_leaves_nothing(shared_server: SharedServer) -> None:
    server, key = shared_server.server, shared_server.keys["uploader"]
    boundary = "cutcutcut"
    head = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="a.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + b"a,b\n"
        + b"1,2\n" * 50_000
    )
    request = (
        "POST /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {key}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + 500_000}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(request + head)
        time.sleep(0.5)  # let the server start writing the blob before the client vanishes
    # The server notices the disconnect asynchronously: wait (bounded) until it has cleaned up.
    partial_blobs = server.settings.data_dir / "blobs" / "tmp"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        leftovers = list(partial_blobs.glob("*")) if partial_blobs.exists() else []
        if not leftovers:
            break
        time.sleep(0.1)
    assert leftovers == []
    listed = httpx.get(f"{server.base_url}/api/files", headers=bearer(key), timeout=30)
    assert listed.json() == []
