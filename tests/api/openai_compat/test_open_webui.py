"""Open WebUI against `/v1` with its default settings: the request sequences it sends
(recorded at the wire from Open WebUI 0.12.4, /work/shared/client-protocols.md section 5)
replayed through OpenAI's SDK against the live app.

A new chat sends a non-streaming `### Task:` title request and, 0.2 s later, the streamed
question with Open WebUI's own tools, both with the chat's `X-OpenWebUI-Chat-Id`; tags and
follow-up requests come later in the same chat. The task requests must not start turns, be
stored or name the conversation; the question must not be refused because of them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import openai
import pytest

from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.api.openai_compat.conftest import V1User

pytestmark = pytest.mark.asyncio(loop_scope="session")

QUESTION = "What is six times seven?"
# Open WebUI's builtin tools, as it sends them with the question (native function calling).
OPEN_WEBUI_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_current_timestamp",
            "description": "Get the current Unix timestamp in seconds.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "ask_user",
            "description": "Ask the user a question and wait for the answer.",
            "parameters": {
                "type": "object",
                "properties": {"question": {"type": "string"}},
                "required": ["question"],
            },
        },
    },
]


def chat_history(*lines: str) -> str:
    return "<chat_history>\n" + "\n".join(lines) + "\n</chat_history>"


# The prompts below open as Open WebUI 0.12.4's default templates do (open_webui/config.py).
def title_task(question: str) -> str:
    return (
        "### Task:\nGenerate a concise title summarizing the chat history.\n### Guidelines:\n"
        "- The title should clearly represent the main theme or subject of the conversation.\n"
        '### Output:\nJSON format: { "title": "your concise title here" }\n'
        "### Chat History:\n" + chat_history(f"USER: {question}")
    )


def follow_up_task(question: str, answer: str) -> str:
    return (
        "### Task:\nPredict 3-5 useful messages this user might naturally send next to advance "
        'their current objective.\n### Output:\nJSON format: { "follow_ups": ["Message 1", '
        '"Message 2", "Message 3"] }\n' + chat_history(f"USER: {question}", f"ASSISTANT: {answer}")
    )


def tags_task(question: str, answer: str) -> str:
    return (
        "### Task:\nGenerate 1-3 broad tags categorizing the main themes of the chat history, "
        "along with 1-3 more specific subtopic tags.\n"
        + chat_history(f"USER: {question}", f"ASSISTANT: {answer}")
    )


def rag_wrapped(question: str, file_text: str) -> str:
    """Open WebUI's retrieval template around a question with a file attached."""
    return (
        "### Task:\nRespond to the user query using the provided context, incorporating "
        "inline citations in the format [id] **only when the <source> tag includes an "
        'explicit id attribute** (e.g., <source id="1">).\n\n### Guidelines:\n- If you don\'t'
        " know the answer, clearly state that.\n\n<context>\n"
        f'<source id="1" name="sales.csv">{file_text}</source>\n</context>\n\n'
        '<attached_files>\n<file type="file" url="6f1c2a" content_type="text/csv" '
        'name="sales.csv"/>\n</attached_files>\n\n' + question
    )


def open_webui_model(body: dict) -> Turn:
    """The fake model for whichever request comes: a task (no tools) gets its JSON; the
    question runs code once, then quotes what it printed."""
    if not body.get("tools"):
        return Turn(text='{ "title": "✖️ Multiplying Six by Seven" }', usage=(7, 3))
    printed = last_tool_result(body)
    if printed is None:
        return Turn(text="Let me compute.", tool_calls=[("execute_code", {"code": "print(6*7)"})])
    return Turn(text="It is 42." if "42" in printed else "I could not compute it.")


async def test_a_new_chat_with_default_settings_answers_the_question_and_titles_it(
    fake: FakeLLMServer, alice: V1User, services: Services
) -> None:
    fake.add_turns(*[open_webui_model] * 3)
    headers = {"X-OpenWebUI-Chat-Id": "4b3e0a1c-chat"}

    async def title() -> Any:
        return await alice.client.chat.completions.create(
            model=alice.model,
            messages=[{"role": "user", "content": title_task(QUESTION)}],
            max_tokens=1000,
            extra_headers=headers,
        )

    async def question() -> str:
        await asyncio.sleep(0.2)  # as recorded: the question follows the title request
        stream = await alice.client.chat.completions.create(
            model=alice.model,
            messages=[{"role": "user", "content": QUESTION}],
            stream=True,
            tools=OPEN_WEBUI_TOOLS,  # type: ignore[arg-type]
            extra_headers=headers,
        )
        return "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    titled, answer = await asyncio.gather(title(), question())

    assert titled.choices[0].message.content == '{ "title": "✖️ Multiplying Six by Seven" }'
    assert titled.model == alice.model
    assert titled.usage is not None
    assert titled.usage.total_tokens == 10
    assert answer.rstrip().endswith("It is 42.")
    [conversation] = await services.conversations.list(alice.principal)
    assert conversation.title == QUESTION  # never the title prompt
    detail = await services.conversations.get(alice.principal, conversation.id)
    assert [(m.role, m.status) for m in detail.messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert detail.messages[0].content == QUESTION
    [task_call] = [r.json for r in fake.model_requests if r.json and "tools" not in r.json]
    assert task_call["messages"] == [{"role": "user", "content": title_task(QUESTION)}]
    assert task_call.get("max_tokens", task_call.get("max_completion_tokens")) == 1000


async def test_follow_up_and_tag_requests_are_answered_without_a_turn(
    fake: FakeLLMServer, alice: V1User, services: Services
) -> None:
    fake.add_turns(*[open_webui_model] * 2)  # the question: code, then the answer
    headers = {"X-OpenWebUI-Chat-Id": "chat-with-follow-ups"}
    answered = await alice.client.chat.completions.create(
        model=alice.model,
        messages=[{"role": "user", "content": QUESTION}],
        tools=OPEN_WEBUI_TOOLS,  # type: ignore[arg-type]
        extra_headers=headers,
    )
    answer = answered.choices[0].message.content or ""
    [conversation] = await services.conversations.list(alice.principal)
    stored = len((await services.conversations.get(alice.principal, conversation.id)).messages)

    for prompt in (follow_up_task(QUESTION, answer), tags_task(QUESTION, answer)):
        fake.add_turns(Turn(text='{ "tags": ["Math"] }'))
        completion = await alice.client.chat.completions.create(
            model=alice.model,
            messages=[{"role": "user", "content": prompt}],
            extra_headers=headers,
        )
        assert completion.choices[0].message.content == '{ "tags": ["Math"] }'

    detail = await services.conversations.get(alice.principal, conversation.id)
    assert len(detail.messages) == stored == 2
    assert [c.id for c in await services.conversations.list(alice.principal)] == [conversation.id]


async def test_a_task_request_before_any_question_creates_no_conversation(
    fake: FakeLLMServer, alice: V1User, services: Services
) -> None:
    """Query generation (web search, retrieval) comes before the chat's first answer."""
    fake.add_turns(Turn(text='{ "queries": ["six times seven"] }'))
    prompt = (
        "### Task:\nAnalyze the chat history to determine the necessity of generating search "
        "queries, in the given language.\n" + chat_history(f"USER: {QUESTION}")
    )

    completion = await alice.client.chat.completions.create(
        model=alice.model,
        messages=[{"role": "user", "content": prompt}],
        extra_headers={"X-OpenWebUI-Chat-Id": "fresh-chat"},
    )

    assert completion.choices[0].message.content == '{ "queries": ["six times seven"] }'
    assert await services.conversations.list(alice.principal) == []
    assert await services.files.list(alice.principal) == []


@pytest.mark.parametrize("stream", [True, False])
async def test_a_question_in_the_retrieval_template_is_a_question_titled_by_its_words(
    fake: FakeLLMServer, alice: V1User, services: Services, stream: bool
) -> None:
    """A file attached in Open WebUI arrives as its text in the `### Task:` retrieval
    template: that is the user's question (even unstreamed and without tools), not a task."""
    fake.add_turns(Turn(text="Your file has columns a and b."))
    content = rag_wrapped("Which columns does my file have?", "a,b\n1,2")

    if stream:
        response = await alice.client.chat.completions.create(
            model=alice.model, messages=[{"role": "user", "content": content}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in response if c.choices])
    else:
        completion = await alice.client.chat.completions.create(
            model=alice.model, messages=[{"role": "user", "content": content}]
        )
        text = completion.choices[0].message.content or ""

    assert text == "Your file has columns a and b."
    [conversation] = await services.conversations.list(alice.principal)
    assert conversation.title == "Which columns does my file have?"
    detail = await services.conversations.get(alice.principal, conversation.id)
    assert detail.messages[0].content == content  # the agent sees the file's text too
    assert "tools" in (fake.model_requests[0].json or {})  # the analyst answered


@pytest.mark.parametrize(
    "v1_settings", [{"openai_compat": {"task_requests": False}}], indirect=True
)
async def test_task_requests_can_be_left_to_the_analyst(
    fake: FakeLLMServer, alice: V1User, services: Services
) -> None:
    fake.add_turns(Turn(text="A title"))

    await alice.client.chat.completions.create(
        model=alice.model, messages=[{"role": "user", "content": title_task(QUESTION)}]
    )

    assert len(await services.conversations.list(alice.principal)) == 1


async def test_a_message_sent_while_the_answer_still_runs_waits_for_it_then_is_answered(
    fake: FakeLLMServer, alice: V1User, services: Services
) -> None:
    slow = "import time\ntime.sleep(1.5)\nprint('first done')"
    fake.add_turns(
        Turn(text="Working.", tool_calls=[("execute_code", {"code": slow})]),
        Turn(text="First answer."),
        Turn(text="Second answer."),
    )
    headers = {"X-OpenWebUI-Chat-Id": "impatient-chat"}
    first = await alice.client.chat.completions.create(
        model=alice.model,
        messages=[{"role": "user", "content": "Take your time"}],
        stream=True,
        extra_headers=headers,
    )
    opening = await anext(aiter(first))
    assert opening.choices[0].delta.role == "assistant"

    async def rest_of_first() -> str:
        return "".join([c.choices[0].delta.content or "" async for c in first if c.choices])

    second = alice.client.chat.completions.create(
        model=alice.model,
        messages=[
            {"role": "user", "content": "Take your time"},
            {"role": "assistant", "content": "(still streaming)"},
            {"role": "user", "content": "And then this"},
        ],
        extra_headers=headers,
    )
    first_text, second_done = await asyncio.gather(rest_of_first(), second)

    assert first_text.rstrip().endswith("First answer.")
    assert second_done.choices[0].message.content == "Second answer."
    [conversation] = await services.conversations.list(alice.principal)
    detail = await services.conversations.get(alice.principal, conversation.id)
    assert [(m.role, m.content, m.status) for m in detail.messages][::2] == [
        ("user", "Take your time", "complete"),
        ("user", "And then this", "complete"),
    ]
    assert [m.status for m in detail.messages] == ["complete"] * 4


async def test_a_model_can_be_retrieved_by_its_id(alice: V1User) -> None:
    model = await alice.client.models.retrieve(alice.model)
    by_assistant_id = await alice.client.models.retrieve(alice.assistant_id)
    plain = await alice.client.models.retrieve("analyst-plain")

    assert (model.id, model.object, model.owned_by) == (alice.model, "model", "alice")
    assert model.created > 0
    assert by_assistant_id.id == alice.assistant_id
    assert (plain.owned_by, plain.created > 0) == ("sandbox-analyst", True)
    with pytest.raises(openai.NotFoundError) as caught:
        await alice.client.models.retrieve("no-such-model")
    assert caught.value.code == "model_not_found"


async def test_more_than_one_choice_is_refused_clearly(fake: FakeLLMServer, alice: V1User) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await alice.client.chat.completions.create(
            model=alice.model, messages=[{"role": "user", "content": "hi"}], n=2
        )

    assert caught.value.param == "n"
    assert "n=1" in caught.value.message
    assert fake.model_requests == []


async def test_every_chunk_but_the_last_has_a_null_finish_reason(
    fake: FakeLLMServer, alice: V1User, base_url: str
) -> None:
    fake.add_turns(Turn(text="One two three."))

    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(
            f"{base_url}/v1/chat/completions",
            json={
                "model": alice.model,
                "messages": [{"role": "user", "content": "count"}],
                "stream": True,
            },
            headers={"Authorization": f"Bearer {alice.key}"},
        )
    chunks = [
        json.loads(line[len("data: ") :])
        for line in response.text.splitlines()
        if line.startswith("data: {")
    ]
    finishes = [chunk["choices"][0]["finish_reason"] for chunk in chunks]
    assert finishes[:-1] == [None] * (len(chunks) - 1)
    assert finishes[-1] == "stop"
    assert all(chunk["created"] > 0 for chunk in chunks)
