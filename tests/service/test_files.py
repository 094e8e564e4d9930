"""Files: uploads typed by content, artifacts from the chat service, signed links."""

from __future__ import annotations

import pytest

from sandbox_analyst.service import (
    AssistantCreate,
    NotFound,
    PayloadTooLarge,
    Principal,
    Services,
    UnsupportedMediaType,
    ValidationError,
)
from sandbox_analyst.store import as_stream


async def read(content) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join([chunk async for chunk in content.chunks])


async def test_an_upload_is_typed_by_its_content_not_its_name(
    services: Services, alice: Principal
) -> None:
    record = await services.files.upload(alice, as_stream(b"a\tb\n1\t2\n"), filename="data.xlsx")
    assert (record.media_type, record.kind, record.name) == (
        "text/tab-separated-values",
        "upload",
        "data.xlsx",
    )
    content = await services.files.open_content(alice, record.id)
    assert await read(content) == b"a\tb\n1\t2\n"


async def test_rejected_uploads_leave_no_blob(services: Services, alice: Principal) -> None:
    with pytest.raises(UnsupportedMediaType):
        await services.files.upload(alice, as_stream(b"\x00\x01\x02" * 100), filename="a.csv")
    services.files.max_upload_bytes = 10
    with pytest.raises(PayloadTooLarge):
        await services.files.upload(alice, as_stream(b"a,b\n" * 10), filename="a.csv")
    root = services.settings.data_dir / "blobs"
    assert [p for p in root.rglob("*") if p.is_file()] == []
    assert await services.files.list(alice) == []


async def test_artifacts_belong_to_the_conversation_owner(
    services: Services, alice: Principal, bob: Principal
) -> None:
    assistant = await services.assistants.create(alice, AssistantCreate(name="a"))
    conversation = await services.conversations.create(alice, assistant.id)

    async def png_chunks():  # type: ignore[no-untyped-def]
        yield b"\x89PNG"
        yield b"rest"

    artifact = await services.files.create_artifact(
        alice.user_id, conversation.id, "chart.png", png_chunks(), "image/png"
    )
    assert (artifact.kind, artifact.media_type, artifact.size) == ("artifact", "image/png", 8)
    listed = await services.files.list(alice, conversation_id=conversation.id, kind="artifact")
    assert [f.id for f in listed] == [artifact.id]
    content = await services.files.open_content(alice, artifact.id)
    assert content.inline
    with pytest.raises(NotFound):
        await services.files.create_artifact(
            bob.user_id, conversation.id, "x.png", b"x", "image/png"
        )


async def test_signed_links_expire_and_name_one_file(services: Services, alice: Principal) -> None:
    record = await services.files.upload(alice, as_stream(b"a,b\n"), filename="a.csv")
    link = await services.files.signed_url(alice, record.id, ttl_s=60)
    assert link.url.startswith(f"/api/files/{record.id}/content?sig=")
    signature = link.url.split("sig=")[1]
    assert await read(await services.files.open_signed_content(record.id, signature)) == b"a,b\n"
    with pytest.raises(NotFound):
        await services.files.open_signed_content(record.id, signature[:-2] + "xx")
    with pytest.raises(ValidationError):
        await services.files.signed_url(alice, record.id, ttl_s=0)


async def test_attach_moves_a_file_into_my_conversation_only(
    services: Services, alice: Principal, bob: Principal
) -> None:
    assistant = await services.assistants.create(
        alice, AssistantCreate(name="a", visibility="public")
    )
    mine = await services.conversations.create(alice, assistant.id)
    theirs = await services.conversations.create(bob, assistant.id)
    record = await services.files.upload(alice, as_stream(b"a\n"), filename="a.txt")
    attached = await services.files.attach(alice, record.id, mine.id)
    assert attached.conversation_id == mine.id
    with pytest.raises(NotFound):
        await services.files.attach(alice, record.id, theirs.id)
