"""`/api/ui/settings` tells the page how to sign in and how big an upload may be;
`/api/files/{id}/preview` shows the first rows of an upload without running anything."""

from __future__ import annotations

import json
from importlib.metadata import version

import httpx
import pytest

from sandbox_analyst.config import Settings
from sandbox_analyst.web.table_preview import HEAD_BYTES
from tests.api.conftest import World

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_settings_are_public_and_say_the_upload_limit(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.get("/api/ui/settings")
    assert response.status_code == 200
    limit = settings.server.max_upload_mb
    assert response.json() == {
        "version": version("sandbox-analyst"),
        "single_user": False,
        "max_upload_mb": limit,
        "max_upload_bytes": limit * 1024 * 1024,
    }


async def upload(client: httpx.AsyncClient, world: World, name: str, data: bytes) -> str:
    response = await client.post(
        "/api/files",
        files={"file": (name, data, "application/octet-stream")},
        headers=world.headers("owner"),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def preview(client: httpx.AsyncClient, world: World, file_id: str, rows: int = 10) -> dict:
    response = await client.get(
        f"/api/files/{file_id}/preview", params={"rows": rows}, headers=world.headers("owner")
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_csv_preview_has_its_header_and_first_rows(
    client: httpx.AsyncClient, world: World
) -> None:
    body = await preview(client, world, world.ids["file"])
    assert body["name"] == "sales.csv"
    assert body["format"] == "table"
    assert body["columns"] == ["city", "sales"]
    assert body["rows"] == [["Oslo", "10"], ["Lima", "12"]]
    assert body["truncated"] is False


async def test_only_the_asked_rows_are_sent_and_the_cut_is_said(
    client: httpx.AsyncClient, world: World
) -> None:
    data = "a;b\n" + "".join(f"{i};{i * 2}\n" for i in range(50))
    body = await preview(client, world, await upload(client, world, "semi.csv", data.encode()), 3)
    assert body["columns"] == ["a", "b"]
    assert body["rows"] == [["0", "0"], ["1", "2"], ["2", "4"]]
    assert body["truncated"] is True


async def test_a_large_file_is_previewed_from_its_head_without_a_cut_row(
    client: httpx.AsyncClient, world: World
) -> None:
    row = "x" * 90 + ",1\n"
    data = ("name,value\n" + row * (3 * HEAD_BYTES // len(row))).encode()
    body = await preview(client, world, await upload(client, world, "big.csv", data), 100)
    assert body["truncated"] is True
    assert body["rows"]
    assert all(r == ["x" * 90, "1"] for r in body["rows"])


async def test_json_lines_and_json_arrays_become_tables(
    client: httpx.AsyncClient, world: World
) -> None:
    lines = b'{"a": 1, "b": "x"}\n{"a": 2, "c": [1, 2]}\n'
    body = await preview(client, world, await upload(client, world, "rows.jsonl", lines))
    assert body["columns"] == ["a", "b", "c"]
    assert body["rows"] == [["1", "x", ""], ["2", "", "[1, 2]"]]
    array = json.dumps([{"k": i} for i in range(20)]).encode()
    body = await preview(client, world, await upload(client, world, "rows.json", array), 5)
    assert body["rows"] == [["0"], ["1"], ["2"], ["3"], ["4"]]
    assert body["truncated"] is True


async def test_markup_in_a_file_comes_back_as_plain_data(
    client: httpx.AsyncClient, world: World
) -> None:
    data = b'name,note\n"<img src=x onerror=alert(1)>","<script>alert(2)</script>"\n'
    body = await preview(client, world, await upload(client, world, "evil.csv", data))
    assert body["rows"] == [["<img src=x onerror=alert(1)>", "<script>alert(2)</script>"]]


async def test_binary_formats_get_no_rows_and_a_note(
    client: httpx.AsyncClient, world: World
) -> None:
    pyarrow = pytest.importorskip("pyarrow")
    import io

    import pyarrow.parquet as parquet

    buffer = io.BytesIO()
    parquet.write_table(pyarrow.table({"a": [1, 2]}), buffer)
    body = await preview(client, world, await upload(client, world, "t.parquet", buffer.getvalue()))
    assert body["format"] == "none"
    assert body["rows"] == []
    assert body["note"]


async def test_plain_text_shows_its_first_lines(client: httpx.AsyncClient, world: World) -> None:
    text = "".join(f"line {i}\n" for i in range(30)).encode()
    body = await preview(client, world, await upload(client, world, "notes.txt", text), 3)
    assert body["format"] == "text"
    assert body["text"] == "line 0\nline 1\nline 2"
    assert body["truncated"] is True


async def test_someone_elses_file_is_not_found(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(
        f"/api/files/{world.ids['file']}/preview", headers=world.headers("other")
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_the_row_count_is_bounded(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(
        f"/api/files/{world.ids['file']}/preview",
        params={"rows": 1000},
        headers=world.headers("owner"),
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "rows"
