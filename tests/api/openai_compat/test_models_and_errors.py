"""`GET /v1/models` lists what a key may use; errors come in OpenAI's shape, so OpenAI's SDK
raises its usual exceptions."""

from __future__ import annotations

import asyncio
import base64

import httpx
import openai
import pytest

from sandbox_analyst.service import AssistantCreate, Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.openai_compat.conftest import V1User, make_user, v1_client

pytestmark = pytest.mark.asyncio(loop_scope="session")


def assert_openai_error_shape(body: object) -> None:
    assert isinstance(body, dict)
    assert set(body) == {"message", "type", "param", "code"}
    assert body["message"]


async def test_models_are_the_assistants_the_key_may_use_and_the_plain_model(
    alice: V1User, services: Services, base_url: str
) -> None:
    bob = await make_user(services, base_url, "bob", assistant="Bob's private analyst")
    public = await services.assistants.create(
        bob.principal, AssistantCreate(name="Shared analyst", visibility="public")
    )
    # Two of alice's assistants share a slug: they are listed by id instead.
    twins = [
        await services.assistants.create(alice.principal, AssistantCreate(name=name))
        for name in ("Twin", "twin!")
    ]

    models = [model async for model in alice.client.models.list()]
    await bob.client.close()

    by_id = {model.id: model for model in models}
    assert set(by_id) == {
        "sales-analyst",
        "shared-analyst",
        twins[0].id,
        twins[1].id,
        "analyst-plain",
    }
    assert by_id["sales-analyst"].owned_by == "alice"
    assert by_id["shared-analyst"].owned_by == "bob"
    assert by_id["analyst-plain"].owned_by == "sandbox-analyst"
    assert {model.object for model in models} == {"model"}
    assert public.id not in by_id  # listed under its slug


async def test_an_assistant_may_be_named_by_its_id_too(fake: FakeLLMServer, alice: V1User) -> None:
    fake.add_turns(Turn(text="Hi."))

    completion = await alice.client.chat.completions.create(
        model=alice.assistant_id, messages=[{"role": "user", "content": "hi"}]
    )

    assert completion.choices[0].message.content == "Hi."
    assert completion.model == alice.assistant_id


async def test_a_bad_or_missing_key_is_a_401(alice: V1User, base_url: str) -> None:
    stranger = v1_client(base_url, "not-a-key")
    with pytest.raises(openai.AuthenticationError) as caught:
        await stranger.models.list()
    await stranger.close()
    assert_openai_error_shape(caught.value.body)
    assert caught.value.code == "invalid_api_key"

    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{base_url}/v1/chat/completions",
            json={"model": alice.model, "messages": [{"role": "user", "content": "hi"}]},
        )
    assert response.status_code == 401
    assert_openai_error_shape(response.json()["error"])


async def test_an_unknown_model_is_a_404(alice: V1User, services: Services, base_url: str) -> None:
    bob = await make_user(services, base_url, "bob", assistant="Private")
    await bob.client.close()

    for model in ("gpt-4o", bob.assistant_id, "private"):  # bob's assistant is not alice's
        with pytest.raises(openai.NotFoundError) as caught:
            await alice.client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "hi"}]
            )
        assert_openai_error_shape(caught.value.body)
        assert caught.value.code == "model_not_found"
        assert caught.value.param == "model"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "sales-analyst", "messages": []}, "messages"),
        (
            {"model": "sales-analyst", "messages": [{"role": "assistant", "content": "hi"}]},
            "messages",
        ),
        ({"model": "sales-analyst", "messages": [{"role": "user", "content": "  "}]}, "messages"),
        (
            {
                "model": "sales-analyst",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "look"},
                            {
                                "type": "image_url",
                                "image_url": {"url": "data:image/png;base64,%%%"},
                            },
                        ],
                    }
                ],
            },
            "messages.0.content.1",
        ),
        (
            {
                "model": "sales-analyst",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image_url", "image_url": {"url": "http://example.com/a.png"}}
                        ],
                    }
                ],
            },
            "messages.0.content.0",
        ),
    ],
)
async def test_a_bad_body_is_a_400(alice: V1User, base_url: str, body: dict, param: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{base_url}/v1/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {alice.key}"},
        )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert_openai_error_shape(error)
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


async def test_malformed_json_is_a_400(alice: V1User, base_url: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{base_url}/v1/chat/completions",
            content=b'{"model": ',
            headers={"Authorization": f"Bearer {alice.key}", "Content-Type": "application/json"},
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


async def test_a_pasted_image_is_uploaded_into_the_conversation_and_readable_by_the_code(
    fake: FakeLLMServer, alice: V1User, services: Services
) -> None:
    png = _one_pixel_png()
    fake.add_turns(
        Turn(
            tool_calls=[
                (
                    "execute_code",
                    {
                        "code": "from matplotlib.image import imread\n"
                        "print(imread('image-1.png').shape)"
                    },
                )
            ]
        ),
        Turn(text="A one-pixel image."),
    )
    completion = await alice.client.chat.completions.create(
        model=alice.model,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": f"data:image/png;base64,{base64.b64encode(png).decode()}"
                        },
                    },
                ],
            }
        ],
    )
    assert "(1, 1, " in (completion.choices[0].message.content or "")
    [record] = await services.files.list(alice.principal)
    assert (record.name, record.media_type, record.kind) == ("image-1.png", "image/png", "upload")


def _one_pixel_png() -> bytes:
    import io

    from matplotlib import pyplot as plt

    buffer = io.BytesIO()
    plt.imsave(buffer, [[(0.2, 0.4, 0.6)]], format="png")
    return buffer.getvalue()


@pytest.mark.parametrize("v1_settings", [{"openai_compat": {"busy_wait_s": 0}}], indirect=True)
async def test_a_second_request_while_a_turn_runs_past_the_wait_is_a_409_and_leaves_no_files(
    fake: FakeLLMServer, alice: V1User, services: Services
) -> None:
    fake.add_turns(Turn(text="Thinking hard about it", hang_after=2))
    headers = {"X-Conversation-Id": "busy"}
    stream = await alice.client.chat.completions.create(
        model=alice.model,
        messages=[{"role": "user", "content": "Take your time"}],
        stream=True,
        extra_headers=headers,
    )
    first = await anext(aiter(stream))
    assert first.choices[0].delta.role == "assistant"

    with pytest.raises(openai.ConflictError) as caught:
        await alice.client.chat.completions.create(
            model=alice.model,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "And this"},
                        {
                            "type": "file",
                            "file": {
                                "filename": "a.csv",
                                "file_data": "data:text/csv,a,b%0A1,2%0A",
                            },
                        },
                    ],
                }
            ],
            extra_headers=headers,
        )
    assert caught.value.response.headers["x-should-retry"] == "false"
    # Open WebUI shows the message in the chat: it speaks to the chat's user.
    assert "still being answered" in caught.value.message
    assert "send your message again" in caught.value.message
    assert "/api/" not in caught.value.message
    assert caught.value.code == "conversation_busy"
    assert await services.files.list(alice.principal) == []

    await stream.close()  # the client goes away: the turn is cancelled
    [conversation] = await services.conversations.list(alice.principal)
    for _ in range(200):
        detail = await services.conversations.get(alice.principal, conversation.id)
        if detail.messages[-1].status == "cancelled":
            break
        await asyncio.sleep(0.05)
    assert detail.messages[-1].status == "cancelled"


async def test_an_unknown_v1_endpoint_is_a_404_in_openai_shape(
    alice: V1User, base_url: str
) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{base_url}/v1/embeddings", headers={"Authorization": f"Bearer {alice.key}"}
        )
    assert response.status_code == 404
    assert_openai_error_shape(response.json()["error"])


async def test_the_rest_api_keeps_its_own_error_shape(base_url: str) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{base_url}/api/assistants")
    assert response.status_code == 401
    assert set(response.json()["error"]) >= {"code", "message"}
    assert "type" not in response.json()["error"]


@pytest.mark.parametrize("v1_settings", [{"server": {"single_user": True}}], indirect=True)
async def test_single_user_mode_takes_any_key(
    fake: FakeLLMServer, services: Services, base_url: str
) -> None:
    local = await services.users.ensure_local_admin()
    await services.assistants.create(local, AssistantCreate(name="Local analyst"))
    fake.add_turns(Turn(text="Hello."))
    client = v1_client(base_url, "anything-at-all")

    models = [model.id async for model in client.models.list()]
    completion = await client.chat.completions.create(
        model="local-analyst", messages=[{"role": "user", "content": "hi"}]
    )
    await client.close()

    assert models == ["local-analyst", "analyst-plain"]
    assert completion.choices[0].message.content == "Hello."
