"""The fake LLM server speaks both wire formats, follows its script and records every request."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from sandbox_analyst.testing import FakeLLMServer, Turn, last_tool_result

OPENAI_HEADERS = {"Authorization": "Bearer test-key"}
ANTHROPIC_HEADERS = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def sse_data(response: httpx.Response) -> list[str]:
    return [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]


def test_openai_stream_chunks_usage_and_done():
    with FakeLLMServer([Turn(text="Hello world", tool_calls=[("f", {"a": 1})])]) as fake:
        body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
        response = httpx.post(
            f"{fake.openai_base_url}/chat/completions", json=body, headers=OPENAI_HEADERS
        )
    data = sse_data(response)
    assert response.headers["content-type"] == "text/event-stream"
    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Hello world"
    arguments = "".join(
        call["function"].get("arguments", "")
        for c in chunks
        if c["choices"]
        for call in c["choices"][0]["delta"].get("tool_calls", [])
    )
    assert json.loads(arguments) == {"a": 1}
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def test_openai_non_streaming_answer():
    with FakeLLMServer([Turn(text="Hi", usage=(1, 2))]) as fake:
        response = httpx.post(
            f"{fake.openai_base_url}/chat/completions", json=CHAT, headers=OPENAI_HEADERS
        )
    answer = response.json()
    assert answer["choices"][0]["message"]["content"] == "Hi"
    assert answer["usage"]["completion_tokens"] == 2


def test_anthropic_stream_events_in_order():
    with FakeLLMServer([Turn(text="Hi", tool_calls=[("f", {"a": 1})])]) as fake:
        body = {**CHAT, "max_tokens": 10, "stream": True}
        response = httpx.post(
            f"{fake.anthropic_base_url}/v1/messages", json=body, headers=ANTHROPIC_HEADERS
        )
    names = [line[7:] for line in response.text.splitlines() if line.startswith("event: ")]
    assert names[0] == "message_start"
    assert names[-2:] == ["message_delta", "message_stop"]
    events = [json.loads(item) for item in sse_data(response)]
    partial = "".join(
        e["delta"]["partial_json"]
        for e in events
        if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"
    )
    assert json.loads(partial) == {"a": 1}
    assert events[-2]["delta"]["stop_reason"] == "tool_use"


def test_requests_are_recorded_with_path_headers_and_body():
    with FakeLLMServer([Turn(text="a")]) as fake:
        httpx.post(f"{fake.openai_base_url}/chat/completions", json=CHAT, headers=OPENAI_HEADERS)
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.json == CHAT


@pytest.mark.parametrize(
    ("path", "headers", "error"),
    [
        ("/v1/chat/completions", {"Authorization": "Bearer wrong"}, {"code": "invalid_api_key"}),
        ("/v1/messages", {"x-api-key": "wrong"}, {"type": "authentication_error"}),
    ],
)
def test_a_wrong_key_gets_401_in_the_providers_error_shape(path, headers, error):
    with FakeLLMServer([Turn(text="a")]) as fake:
        response = httpx.post(f"{fake.url}{path}", json=CHAT, headers=headers)
    assert response.status_code == 401
    assert error.items() <= response.json()["error"].items()


def test_an_unknown_model_gets_404_model_not_found_and_models_are_listed():
    with FakeLLMServer([Turn(text="a")], models=["known"]) as fake:
        response = httpx.post(
            f"{fake.openai_base_url}/chat/completions", json=CHAT, headers=OPENAI_HEADERS
        )
        listing = httpx.get(f"{fake.openai_base_url}/models", headers=OPENAI_HEADERS)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    assert [m["id"] for m in listing.json()["data"]] == ["known"]


def test_an_error_turn_fails_n_times_with_retry_after_then_answers():
    turn = Turn(text="finally", error_status=429, error_times=2, retry_after=1.5)
    with FakeLLMServer([turn]) as fake:
        url = f"{fake.openai_base_url}/chat/completions"
        responses = [httpx.post(url, json=CHAT, headers=OPENAI_HEADERS) for _ in range(3)]
    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].headers["retry-after"] == "1.5"
    assert responses[2].json()["choices"][0]["message"]["content"] == "finally"


def test_a_callable_turn_is_computed_from_the_request():
    def echo_result(request: dict) -> Turn:
        return Turn(text=f"The answer is {last_tool_result(request)}.")

    conversation = [
        {"role": "user", "content": "x?"},
        {"role": "assistant", "content": None, "tool_calls": []},
        {"role": "tool", "tool_call_id": "c1", "content": "42.5"},
    ]
    with FakeLLMServer([echo_result]) as fake:
        body = {"model": "m", "messages": conversation}
        response = httpx.post(
            f"{fake.openai_base_url}/chat/completions", json=body, headers=OPENAI_HEADERS
        )
    assert response.json()["choices"][0]["message"]["content"] == "The answer is 42.5."


def test_last_tool_result_reads_anthropic_tool_result_blocks():
    request = {
        "messages": [
            {"role": "user", "content": "x?"},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "old"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "t2",
                        "content": [{"type": "text", "text": "7"}],
                    },
                ],
            },
        ]
    }
    assert last_tool_result(request) == "7"
    assert last_tool_result({"messages": [{"role": "user", "content": "x"}]}) is None


def test_an_exhausted_script_answers_500_with_a_message():
    with FakeLLMServer([]) as fake:
        response = httpx.post(
            f"{fake.openai_base_url}/chat/completions", json=CHAT, headers=OPENAI_HEADERS
        )
    assert response.status_code == 500
    assert "script exhausted" in response.json()["error"]["message"]


def test_unknown_quirks_are_refused():
    with pytest.raises(ValueError, match="unknown quirks"):
        FakeLLMServer(quirks={"ollama_index_reuse", "typo"})


def test_stop_releases_a_stream_that_hangs_on_purpose():
    fake = FakeLLMServer([Turn(text="a b c", hang_after=1)]).start()
    with httpx.stream(
        "POST",
        f"{fake.openai_base_url}/chat/completions",
        json={**CHAT, "stream": True},
        headers=OPENAI_HEADERS,
        timeout=30,
    ) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
        fake.stop()
        assert [line for line in lines if line] == []  # closed by the server: no hang


def test_add_turns_extends_the_script():
    with FakeLLMServer() as fake:
        fake.add_turns(Turn(text="one"), Turn(text="two"))
        url = f"{fake.openai_base_url}/chat/completions"
        answers = [httpx.post(url, json=CHAT, headers=OPENAI_HEADERS).json() for _ in range(2)]
    assert [a["choices"][0]["message"]["content"] for a in answers] == ["one", "two"]


def test_a_turns_latency_holds_its_answer_back_and_stop_releases_it():
    fake = FakeLLMServer([Turn(text="late", latency=600)]).start()
    url = f"{fake.openai_base_url}/chat/completions"
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(httpx.post, url, json=CHAT, headers=OPENAI_HEADERS, timeout=60)
        while not fake.requests and not answer.done():  # until it has arrived, held
            time.sleep(0.01)
        assert not answer.done()
        fake.stop()
        with pytest.raises(httpx.RemoteProtocolError):  # closed unanswered: no hang
            answer.result()
