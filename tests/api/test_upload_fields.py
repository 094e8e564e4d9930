"""`POST /api/files` form fields: `conversation_id` may come as a form field (before or after
the file) as well as a query parameter; anything else is refused by name, nothing kept."""

from __future__ import annotations

import httpx
import pytest

from sandbox_analyst.service import Services
from tests.api.conftest import CSV_BYTES, World
from tests.api.test_bad_input import stored_blobs

BOUNDARY = "f13ldsf13lds"


def part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"


async def post_parts(
    client: httpx.AsyncClient, world: World, *parts: bytes, params: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(
        "/api/files",
        params=params,
        content=b"".join(parts) + f"--{BOUNDARY}--\r\n".encode(),
        headers={
            **world.headers("owner"),
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        },
    )


async def files_of(client: httpx.AsyncClient, world: World) -> list[tuple[str, str | None]]:
    listed = await client.get("/api/files", headers=world.headers("owner"))
    return sorted((f["name"], f["conversation_id"]) for f in listed.json())


async def test_a_conversation_id_form_field_attaches_the_upload(
    client: httpx.AsyncClient, world: World
) -> None:
    conversation = world.ids["conversation"]
    response = await client.post(
        "/api/files",
        data={"conversation_id": conversation},
        files={"file": ("form.csv", CSV_BYTES)},
        headers=world.headers("owner"),
    )
    assert response.status_code == 201, response.text
    assert response.json()["conversation_id"] == conversation
    in_conversation = await client.get(
        "/api/files", params={"conversation_id": conversation}, headers=world.headers("owner")
    )
    assert "form.csv" in [f["name"] for f in in_conversation.json()]


async def test_the_field_may_follow_the_file(client: httpx.AsyncClient, world: World) -> None:
    conversation = world.ids["conversation"]
    response = await post_parts(
        client,
        world,
        part("file", CSV_BYTES, "after.csv"),
        part("conversation_id", conversation.encode()),
    )
    assert response.status_code == 201, response.text
    assert response.json()["conversation_id"] == conversation


async def test_query_and_form_may_agree_but_not_differ(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    conversation = world.ids["conversation"]
    same = await post_parts(
        client,
        world,
        part("conversation_id", conversation.encode()),
        part("file", CSV_BYTES, "same.csv"),
        params={"conversation_id": conversation},
    )
    assert same.status_code == 201, same.text
    before, listed = stored_blobs(services), await files_of(client, world)

    other = (
        await client.post(
            "/api/conversations",
            json={"assistant_id": world.ids["assistant"]},
            headers=world.headers("owner"),
        )
    ).json()["id"]
    differ = await post_parts(
        client,
        world,
        part("file", CSV_BYTES, "differ.csv"),
        part("conversation_id", other.encode()),
        params={"conversation_id": conversation},
    )
    assert differ.status_code == 422
    assert differ.json()["error"]["field"] == "conversation_id"
    assert "different values" in differ.json()["error"]["message"]
    assert stored_blobs(services) == before
    assert await files_of(client, world) == listed


async def test_a_conversation_of_someone_else_in_the_form_is_404_and_keeps_nothing(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    before = stored_blobs(services)
    for conversation in (world.ids["conversation"], "no-such-conversation"):
        response = await client.post(
            "/api/files",
            data={"conversation_id": conversation},
            files={"file": ("bob.csv", CSV_BYTES)},
            headers=world.headers("other"),
        )
        assert response.status_code == 404, response.text
        assert response.json()["error"]["field"] == "conversation_id"
    assert stored_blobs(services) == before
    listed = await client.get("/api/files", headers=world.headers("other"))
    assert listed.json() == []


@pytest.mark.parametrize("file_first", [False, True], ids=["fields-first", "file-first"])
async def test_unknown_form_fields_are_refused_by_name(
    client: httpx.AsyncClient, world: World, services: Services, file_first: bool
) -> None:
    before, listed = stored_blobs(services), await files_of(client, world)
    fields = [part("purpose", b"assistants"), part("filename", b"x.csv")]
    file = [part("file", CSV_BYTES, "unknown.csv")]
    response = await post_parts(client, world, *(file + fields if file_first else fields + file))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "purpose"
    assert "`purpose`" in error["message"]
    if not file_first:  # all of them are known before the file starts
        assert "`filename`" in error["message"]
    assert "`conversation_id`" in error["message"]  # what is accepted
    assert stored_blobs(services) == before
    assert await files_of(client, world) == listed


@pytest.mark.parametrize(
    ("parts", "field", "says"),
    [
        (
            [part("file", CSV_BYTES, "a.csv"), part("file", CSV_BYTES, "b.csv")],
            "file",
            "one file per request",
        ),
        (
            [part("conversation_id", b"x" * 2000), part("file", CSV_BYTES, "a.csv")],
            "conversation_id",
            "longer than",
        ),
        (
            [part("conversation_id", b"a"), part("conversation_id", b"b"), part("file", b"x")],
            "conversation_id",
            "given twice",
        ),
        (
            [part("conversation_id", b"\xff\xfe"), part("file", CSV_BYTES, "a.csv")],
            "conversation_id",
            "UTF-8",
        ),
    ],
    ids=["two-files", "long-field", "repeated-field", "binary-field"],
)
async def test_odd_forms_are_clear_errors(
    client: httpx.AsyncClient,
    world: World,
    services: Services,
    parts: list[bytes],
    field: str,
    says: str,
) -> None:
    before, listed = stored_blobs(services), await files_of(client, world)
    response = await post_parts(client, world, *parts)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    assert says in response.json()["error"]["message"]
    assert stored_blobs(services) == before
    assert await files_of(client, world) == listed
