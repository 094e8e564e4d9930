"""The Open WebUI Pipe end to end: a file attached in an Open WebUI chat reaches the sandbox,
each code step shows as status events and a collapsible block, charts as images anyone can
load (signed links), and the chat's next message continues the same conversation and sandbox.
Open WebUI's own side requests (titles...) start no turn; failures read as chat messages."""

from __future__ import annotations

import asyncio
import base64
import io
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import httpx
import pytest
import pytest_asyncio

from sandbox_analyst.service import AssistantCreate, Principal, Services
from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result
from tests.integrations.open_webui.conftest import OpenWebUIFiles

pytestmark = pytest.mark.asyncio(loop_scope="session")

SALES = b"month,sales\nJan,10\nFeb,14\nMar,9\n"
PLOT = (
    "import pandas as pd\nimport matplotlib.pyplot as plt\n"
    "df = pd.read_csv('sales.csv')\nprint(df.sales.sum())\nplt.plot(df.sales)\nplt.show()"
)


@dataclass
class Analyst:
    principal: Principal
    key: str
    assistant_id: str


@dataclass
class Events:
    """An `__event_emitter__`: what the Pipe told Open WebUI, in order."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, event: dict[str, Any]) -> None:
        self.sent.append(event)

    def statuses(self) -> list[tuple[str, bool]]:
        return [
            (e["data"]["description"], e["data"]["done"])
            for e in self.sent
            if e["type"] == "status"
        ]


@pytest_asyncio.fixture(loop_scope="session")
async def analyst(services: Services) -> Analyst:
    user = await services.users.create_user("carol")
    key = (await services.users.create_key(user.id)).secret
    principal = Principal(user.id, user.name)
    assistant = await services.assistants.create(principal, AssistantCreate(name="Sales analyst"))
    return Analyst(principal, key, assistant.id)


def make_pipe(module: ModuleType, live_url: str, key: str, **valves: Any) -> Any:
    pipe = module.Pipe()
    pipe.valves = module.Pipe.Valves(SERVER_URL=live_url, API_KEY=key, **valves)
    return pipe


async def ask(pipe: Any, analyst: Analyst, text: str, **extra: Any) -> str:
    body = {
        "model": f"sandbox_analyst.{analyst.assistant_id}",
        "messages": [{"role": "user", "content": text}],
        "stream": True,
    }
    result = await pipe.pipe(body, __user__={"id": "u1", "name": "Carol"}, **extra)
    return "".join([piece async for piece in result])


def ran(prefix: str) -> Any:
    """A model answer quoting what the last code step printed."""

    def answer(body: dict) -> Turn:
        printed = re.search(r"stdout:\n(.*?)\nstderr:", last_tool_result(body) or "", re.S)
        return Turn(text=f"{prefix} {printed.group(1).strip() if printed else '(nothing)'}.")

    return answer


async def test_an_attached_file_reaches_the_sandbox_and_the_chart_shows(
    fake: FakeLLMServer,
    analyst: Analyst,
    services: Services,
    live_url: str,
    pipe_module: ModuleType,
    open_webui_files: OpenWebUIFiles,
) -> None:
    fake.add_turns(
        Turn(text="Let me look.", tool_calls=[("execute_code", {"code": PLOT})]),
        ran("Total sales:"),
        Turn(text="Counting.", tool_calls=[("execute_code", {"code": "print(len(df))"})]),
        ran("Rows:"),
    )
    attached = open_webui_files.add("owui-file-1", "sales.csv", SALES, "text/csv")
    pipe = make_pipe(pipe_module, live_url, analyst.key)
    events = Events()

    first = await ask(
        pipe,
        analyst,
        "Plot the sales",
        __chat_id__="owui-chat-1",
        __files__=[attached],
        __event_emitter__=events,
    )
    second = await ask(
        pipe,
        analyst,
        "How many rows?",
        __chat_id__="owui-chat-1",
        __files__=[attached],  # Open WebUI sends the chat's files again
        __event_emitter__=Events(),
    )

    assert first.index("Total sales: 33.") < first.index("![figure-1.png](")
    assert "Total sales: 33." in first
    assert "```python\n" + PLOT + "\n```" in first
    assert "```text\n33\n```" in first
    assert "<summary>Step 1: Python" in first
    [chart_url] = re.findall(r"!\[figure-1\.png\]\(([^)]+)\)", first)
    assert chart_url.startswith(f"{live_url}/api/files/")
    async with httpx.AsyncClient() as anyone:  # the user's browser: no credentials
        chart = await anyone.get(chart_url)
    assert chart.status_code == 200
    assert chart.headers["content-type"] == "image/png"
    statuses = events.statuses()
    assert ("Uploading sales.csv…", False) in statuses
    assert ("Running code (step 1)…", False) in statuses
    assert any(re.fullmatch(r"Step 1 finished \(\d+\.\d s\)", s) for s, _ in statuses)
    assert statuses[-1] == ("Done", True)

    assert "Rows: 3." in second  # `df` from the first message: the same sandbox
    [conversation] = await services.conversations.list(analyst.principal)
    assert conversation.title == "Plot the sales"
    detail = await services.conversations.get(analyst.principal, conversation.id)
    assert [m.content for m in detail.messages if m.role == "user"] == [
        "Plot the sales",
        "How many rows?",
    ]
    uploads = await services.files.list(
        analyst.principal, conversation_id=conversation.id, kind="upload"
    )
    assert [f.name for f in uploads] == ["sales.csv"]  # not uploaded twice


async def test_a_question_inside_open_webuis_retrieval_template_is_sent_as_its_words(
    fake: FakeLLMServer,
    analyst: Analyst,
    services: Services,
    live_url: str,
    pipe_module: ModuleType,
    open_webui_files: OpenWebUIFiles,
) -> None:
    fake.add_turns(Turn(text="It has month and sales."))
    attached = open_webui_files.add("owui-file-2", "sales.csv", SALES, "text/csv")
    wrapped = (
        "### Task:\nRespond to the user query using the provided context.\n\n<context>\n"
        '<source id="1">month,sales Jan,10</source>\n</context>\n\n'
        '<attached_files>\n<file url="owui-file-2"/>\n</attached_files>\n\nWhich columns?'
    )

    answer = await ask(
        make_pipe(pipe_module, live_url, analyst.key),
        analyst,
        wrapped,
        __chat_id__="owui-chat-2",
        __files__=[attached],
    )

    assert answer.strip() == "It has month and sales."
    [conversation] = await services.conversations.list(analyst.principal)
    detail = await services.conversations.get(analyst.principal, conversation.id)
    assert detail.messages[0].content == "Which columns?"


async def test_open_webuis_title_request_goes_to_the_plain_model_and_starts_no_turn(
    fake: FakeLLMServer, analyst: Analyst, services: Services, live_url: str, pipe_module: Any
) -> None:
    fake.add_turns(Turn(text='{"title": "📈 Sales"}'))
    body = {
        "model": f"sandbox_analyst.{analyst.assistant_id}",
        "messages": [{"role": "user", "content": "### Task:\nGenerate a concise title"}],
        "stream": False,
        "max_tokens": 50,
    }

    title = await make_pipe(pipe_module, live_url, analyst.key).pipe(
        body, __task__="title_generation", __chat_id__="owui-chat-3"
    )

    assert title == '{"title": "📈 Sales"}'
    assert await services.conversations.list(analyst.principal) == []
    assert "tools" not in (fake.model_requests[0].json or {})


async def test_the_assistants_are_offered_as_models(
    analyst: Analyst, services: Services, live_url: str, pipe_module: Any
) -> None:
    other = await services.assistants.create(analyst.principal, AssistantCreate(name="Other"))

    every = await make_pipe(pipe_module, live_url, analyst.key).pipes()
    only = await make_pipe(pipe_module, live_url, analyst.key, ASSISTANT="other").pipes()

    assert {(m["id"], m["name"]) for m in every} == {
        (analyst.assistant_id, "Sales analyst"),
        (other.id, "Other"),
    }
    assert only == [{"id": other.id, "name": "Other"}]


async def test_a_refused_key_and_an_unreachable_server_are_told_in_the_chat(
    analyst: Analyst, live_url: str, pipe_module: Any
) -> None:
    events = Events()

    refused = await ask(
        make_pipe(pipe_module, live_url, "not-a-key"), analyst, "hi", __event_emitter__=events
    )
    unreachable = await ask(
        make_pipe(pipe_module, "http://127.0.0.1:9", analyst.key), analyst, "hi"
    )

    assert "the API key was refused; check the function's API_KEY valve" in refused
    assert events.statuses()[-1][1] is True
    assert "cannot be reached at http://127.0.0.1:9" in unreachable
    assert "SERVER_URL" in unreachable


async def test_a_message_sent_while_the_chats_answer_runs_waits_for_it(
    fake: FakeLLMServer, analyst: Analyst, services: Services, live_url: str, pipe_module: Any
) -> None:
    slow = "import time\ntime.sleep(1.5)\nprint('slept')"
    fake.add_turns(
        Turn(text="Working.", tool_calls=[("execute_code", {"code": slow})]),
        Turn(text="First answer."),
        Turn(text="Second answer."),
    )
    pipe = make_pipe(pipe_module, live_url, analyst.key)
    first_events, second_events = Events(), Events()
    first = asyncio.create_task(
        ask(pipe, analyst, "Take your time", __chat_id__="busy", __event_emitter__=first_events)
    )
    while ("Running code (step 1)…", False) not in first_events.statuses():
        assert not first.done(), await first
        await asyncio.sleep(0.05)

    second = await ask(
        pipe, analyst, "And this", __chat_id__="busy", __event_emitter__=second_events
    )

    assert (await first).rstrip().endswith("First answer.")
    assert second.strip() == "Second answer."
    assert ("Waiting for the previous answer in this chat…", False) in second_events.statuses()
    [conversation] = await services.conversations.list(analyst.principal)
    detail = await services.conversations.get(analyst.principal, conversation.id)
    assert [m.content for m in detail.messages if m.role == "user"] == [
        "Take your time",
        "And this",
    ]


async def test_an_image_pasted_into_the_message_is_uploaded_too(
    fake: FakeLLMServer, analyst: Analyst, live_url: str, pipe_module: Any
) -> None:
    code = "import matplotlib.image as mpimg\nprint(mpimg.imread('image-1.png').shape)"
    fake.add_turns(
        Turn(text="Reading.", tool_calls=[("execute_code", {"code": code})]), ran("Shape")
    )
    pixel = base64.b64encode(_one_pixel_png()).decode()
    body = {
        "model": f"sandbox_analyst.{analyst.assistant_id}",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What size is it?"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{pixel}"}},
                ],
            }
        ],
        "stream": True,
    }

    result = await make_pipe(pipe_module, live_url, analyst.key).pipe(body, __chat_id__="img")
    answer = "".join([piece async for piece in result])

    assert "Shape (1, 1, " in answer


def _one_pixel_png() -> bytes:
    from matplotlib import pyplot as plt

    buffer = io.BytesIO()
    plt.imsave(buffer, [[(0.2, 0.4, 0.6)]], format="png")
    return buffer.getvalue()
