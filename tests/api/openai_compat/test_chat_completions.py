"""`POST /v1/chat/completions` through OpenAI's SDK: an assistant answers with its code steps
written into the text, streamed or not; the sandbox state carries over between turns."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from sandbox_analyst.service import Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.api.openai_compat.conftest import V1User

pytestmark = pytest.mark.asyncio(loop_scope="session")


def quoting_output(prefix: str) -> object:
    """A model answer that quotes what the code printed."""

    def answer(body: dict) -> Turn:
        printed = re.search(r"stdout:\n(.*?)\nstderr:", last_tool_result(body) or "", re.S)
        return Turn(text=f"{prefix} {printed.group(1) if printed else '(nothing)'}.")

    return answer


def run_code(code: str, answer: str = "Done.") -> list[object]:
    return [
        Turn(text="Let me compute.", tool_calls=[("execute_code", {"code": code})]),
        Turn(text=answer),
    ]


async def test_a_streamed_answer_shows_the_code_and_its_output_and_never_tool_calls(
    fake: FakeLLMServer, alice: V1User
) -> None:
    fake.add_turns(
        Turn(text="Let me compute.", tool_calls=[("execute_code", {"code": "print(6 * 7)"})]),
        quoting_output("The answer is"),
    )

    stream = await alice.client.chat.completions.create(
        model=alice.model,
        messages=[{"role": "user", "content": "What is six times seven?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]

    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert deltas[0].role == "assistant"
    assert all(delta.tool_calls is None for delta in deltas)
    text = "".join(delta.content or "" for delta in deltas)
    assert text.startswith("Let me compute.")
    assert "<details>" in text  # the default style
    assert "```python\nprint(6 * 7)\n```" in text
    assert "```text\n42\n```" in text
    assert text.rstrip().endswith("The answer is 42.")
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert finishes.count("stop") == 1
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (20, 10, 30)


async def test_the_raw_stream_is_openai_server_sent_events_ending_with_done(
    fake: FakeLLMServer, alice: V1User, base_url: str
) -> None:
    fake.add_turns(*run_code("print('hi')"))

    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(
            f"{base_url}/v1/chat/completions",
            json={
                "model": alice.model,
                "messages": [{"role": "user", "content": "hi"}],
                "stream": True,
            },
            headers={"Authorization": f"Bearer {alice.key}"},
        )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [block for block in response.text.split("\n\n") if block.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    for event in events[:-1]:
        assert json.loads(event[6:])["object"] == "chat.completion.chunk"
    assert "tool_calls" not in response.text


async def test_a_non_streamed_answer_is_one_completion_with_the_turns_usage(
    fake: FakeLLMServer, alice: V1User
) -> None:
    fake.add_turns(*run_code("print(6 * 7)", answer="It is 42."))

    completion = await alice.client.chat.completions.create(
        model=alice.model, messages=[{"role": "user", "content": "What is six times seven?"}]
    )

    assert completion.object == "chat.completion"
    [choice] = completion.choices
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.tool_calls is None
    assert "```text\n42\n```" in (choice.message.content or "")
    assert (choice.message.content or "").rstrip().endswith("It is 42.")
    assert completion.usage is not None
    assert completion.usage.total_tokens == 30


async def test_only_the_new_message_reaches_the_agent_and_variables_survive_turns(
    fake: FakeLLMServer, alice: V1User
) -> None:
    headers = {"X-Conversation-Id": "librechat-conversation-1"}
    fake.add_turns(*run_code("x = 41"))
    first = await alice.client.chat.completions.create(
        model=alice.model,
        messages=[{"role": "user", "content": "Set x to 41"}],
        extra_headers=headers,
    )
    fake.add_turns(
        Turn(tool_calls=[("execute_code", {"code": "print(x + 1)"})]), quoting_output("x + 1 is")
    )

    second = await alice.client.chat.completions.create(
        model=alice.model,
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Set x to 41"},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": "Now print x + 1"},
        ],
        extra_headers=headers,
    )

    assert "x + 1 is 42" in (second.choices[0].message.content or "")
    # The model saw our stored history (with the real tool steps), not the client's copy.
    sent = fake.model_requests[-2].json or {}
    users = [m["content"] for m in sent["messages"] if m["role"] == "user"]
    assert users == ["Set x to 41", "Now print x + 1"]
    assert not any(m["content"] == "You are helpful." for m in sent["messages"])


async def test_unknown_parameters_are_ignored(fake: FakeLLMServer, alice: V1User) -> None:
    fake.add_turns(Turn(text="Fine."))

    completion = await alice.client.chat.completions.create(
        model=alice.model,
        messages=[{"role": "user", "content": "hello"}],
        temperature=0.2,
        top_p=0.9,
        user="someone",
        tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        extra_body={"no_such_parameter": {"nested": True}, "metadata": {"chat_id": "1"}},
    )

    assert completion.choices[0].message.content == "Fine."


async def test_a_chart_link_is_absolute_signed_and_fetchable_without_credentials(
    fake: FakeLLMServer, alice: V1User, base_url: str
) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()"

    def paste_the_chart(body: dict) -> Turn:
        observation = last_tool_result(body) or ""
        link = next(line for line in observation.splitlines() if "![" in line)
        return Turn(text="Here it is: " + link[link.index("![") :])

    fake.add_turns(Turn(tool_calls=[("execute_code", {"code": code})]), paste_the_chart)

    completion = await alice.client.chat.completions.create(
        model=alice.model, messages=[{"role": "user", "content": "Plot it"}]
    )

    text = completion.choices[0].message.content or ""
    images = [part.split(")")[0] for part in text.split("](")[1:] if "figure-1.png" in text]
    image_urls = [url for url in images if "/content" in url]
    assert text.count("![figure-1.png](") == 1  # the model's copy; not shown twice
    [url] = set(image_urls)
    assert url.startswith(f"{base_url}/api/files/")
    assert "?sig=" in url
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")


async def test_a_chart_the_model_forgot_to_show_is_appended(
    fake: FakeLLMServer, alice: V1User, base_url: str
) -> None:
    code = "import matplotlib.pyplot as plt\nplt.bar(['a', 'b'], [1, 2])\nplt.show()"
    fake.add_turns(*run_code(code, answer="Plotted."))

    completion = await alice.client.chat.completions.create(
        model=alice.model, messages=[{"role": "user", "content": "Plot it"}]
    )

    text = completion.choices[0].message.content or ""
    assert text.count("![figure-1.png](") == 1
    assert text.index("Plotted.") < text.index("![figure-1.png](")
    assert f"![figure-1.png]({base_url}/api/files/" in text


async def test_a_file_in_the_message_is_uploaded_into_the_conversation_before_the_turn(
    fake: FakeLLMServer, alice: V1User, services: Services
) -> None:
    import base64

    csv = base64.b64encode(b"month,sales\nJan,10\nFeb,14\nMar,9\n").decode()
    fake.add_turns(*run_code("import pandas as pd\nprint(pd.read_csv('sales.csv').sales.sum())"))

    completion = await alice.client.chat.completions.create(
        model=alice.model,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Total sales?"},
                    {
                        "type": "file",
                        "file": {
                            "filename": "sales.csv",
                            "file_data": f"data:text/csv;base64,{csv}",
                        },
                    },
                ],
            }
        ],
        extra_headers={"X-Conversation-Id": "with-a-file"},
    )

    assert "```text\n33\n```" in (completion.choices[0].message.content or "")
    [conversation] = await services.conversations.list(alice.principal)
    files = await services.files.list(alice.principal, conversation_id=conversation.id)
    assert [(f.name, f.kind) for f in files] == [("sales.csv", "upload")]
    # The agent was told about the file in the system prompt.
    system = (fake.model_requests[0].json or {})["messages"][0]["content"]
    assert "sales.csv" in system


async def test_the_plain_model_passes_the_messages_to_the_llm_and_stores_nothing(
    fake: FakeLLMServer, alice: V1User, services: Services
) -> None:
    fake.add_turns(Turn(text="Sales by month"), Turn(text="Streamed title"))
    messages = [
        {"role": "system", "content": "Write a title."},
        {"role": "user", "content": [{"type": "text", "text": "Plot sales by month"}]},
    ]

    completion = await alice.client.chat.completions.create(
        model="analyst-plain", messages=messages
    )
    stream = await alice.client.chat.completions.create(
        model="analyst-plain", messages=messages, stream=True
    )
    streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])

    assert completion.choices[0].message.content == "Sales by month"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 15
    assert streamed == "Streamed title"
    sent = fake.model_requests[0].json or {}
    assert "tools" not in sent
    assert [(m["role"], m["content"]) for m in sent["messages"]] == [
        ("system", "Write a title."),
        ("user", "Plot sales by month"),
    ]
    assert await services.conversations.list(alice.principal) == []


@pytest.mark.parametrize(
    "v1_settings", [{"server": {"public_url": "https://analyst.example/"}}], indirect=True
)
async def test_links_are_built_on_the_public_url_when_one_is_set(
    fake: FakeLLMServer, alice: V1User
) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()"
    fake.add_turns(*run_code(code, answer="Plotted."))

    completion = await alice.client.chat.completions.create(
        model=alice.model, messages=[{"role": "user", "content": "Plot it"}]
    )

    assert "![figure-1.png](https://analyst.example/api/files/" in (
        completion.choices[0].message.content or ""
    )


async def test_a_failing_model_is_reported_in_the_answer(
    fake: FakeLLMServer, alice: V1User
) -> None:
    fake.add_turns(Turn(text="never", error_status=400, error_message="context too long"))

    completion = await alice.client.chat.completions.create(
        model=alice.model, messages=[{"role": "user", "content": "hi"}]
    )

    text = completion.choices[0].message.content or ""
    assert text.startswith("> **Error:** ")
    assert "context too long" in text
