"""Chat service benchmark: what a turn costs on top of the model and the sandbox, in one run.

    uv run python benchmarks/agent.py [--turns 40] [--rounds 3] [--database-url URL]

SQLite in a temporary directory unless `--database-url` names another database (an empty
PostgreSQL database, e.g. `postgresql://postgres@127.0.0.1:5432/bench`).

With the fake LLM server answering at once, every turn is: model call -> `1+1` in the
sandbox -> model call -> answer. Measured in the same run:
- baselines: a bare sandbox round trip (`run_code("1+1")`) and a bare model call (the fake
  server through the real OpenAI SDK);
- per tool call: from the `tool_call` event to the `tool_result` event (the agent's tool work,
  the code's round trip, storing the step and the execution log), minus the bare round trip;
- when a client sees the tool call and its result, counted from the turn's start: how live the
  stream is (a client that sees the call late, in a burst with its result, shows a short
  call -> result interval above but a late step);
- per turn: start to `message_end` (storing both messages, history, sandbox probe, two model
  calls, one tool call), minus two bare model calls and one bare round trip;
- sustained turns/s with 10 and 50 conversations talking at once, each conversation's
  sandbox already made (one untimed turn each), the model taking `--model-latency-ms` before
  each answer as a real one does (with an instant model every turn is CPU work of this one
  process, and no number of conversations can overlap more of it);
- per sequential turn, what does not depend on a quiet machine: database transactions and
  statements, and the CPU time of this process (the fake model server's thread included).
Prints a Markdown table with medians and ratios against the baselines.

Targets (a quiet machine, PostgreSQL): service overhead <= 2 ms per tool call and <= 20 ms per
turn, and turns/s higher with 50 conversations than with 10 (a turn mostly waits, on the model
and the sandbox, so more conversations at once should overlap more of it). On a loaded machine
the wall-clock rows are noise; compare the transaction, statement and CPU rows.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

from sqlalchemy import event as sql_events

from sandbox_analyst.config import LLMSettings, SandboxSettings, Settings
from sandbox_analyst.llm import ChatMessage, create_llm
from sandbox_analyst.sandbox import SandboxProvider, SessionManager, create_provider
from sandbox_analyst.service import AssistantCreate, Principal, Services
from sandbox_analyst.testing import FakeLLMServer, Turn

CODE = "1+1"


def instant_model(body: dict, latency: float = 0.0) -> Turn:
    """Runs `1+1` when asked, then answers; computed per request, so any number of
    conversations can share the script."""
    if body["messages"][-1]["role"] == "tool":
        return Turn(text="It is 2.", latency=latency)
    return Turn(tool_calls=[("execute_code", {"code": CODE})], latency=latency)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def conversation(services: Services, name: str) -> tuple[Principal, str]:
    user = await services.users.create_user(name)
    principal = Principal(user.id, name)
    assistant = await services.assistants.create(principal, AssistantCreate(name="bench"))
    created = await services.conversations.create(principal, assistant.id)
    return principal, created.id


async def timed_turn(services: Services, principal: Principal, conversation_id: str) -> dict:
    started = time.perf_counter()
    turn = await services.chat.start_turn(principal, conversation_id, "What is 1+1?")
    marks: dict[str, float] = {}
    async for event in turn:
        marks.setdefault(event.type, time.perf_counter())
        if event.type == "message_end":
            assert event.status == "complete", event
    return {
        "turn": marks["message_end"] - started,
        "tool": marks["tool_result"] - marks["tool_call"],
        "call_shown": marks["tool_call"] - started,
        "result_shown": marks["tool_result"] - started,
    }


async def bare_round_trips(provider: SandboxProvider, rounds: int) -> list[float]:
    sandbox = await provider.create()
    samples = []
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            await sandbox.run_code(CODE)
            samples.append(time.perf_counter() - started)
    finally:
        await sandbox.close()
    return samples


async def bare_model_calls(settings: Settings, fake: FakeLLMServer, rounds: int) -> list[float]:
    llm = create_llm(settings)
    samples = []
    try:
        for _ in range(rounds):
            fake.add_turns(Turn(text="It is 2."))
            started = time.perf_counter()
            async for _event in llm.stream([ChatMessage("user", "What is 1+1?")]):
                pass
            samples.append(time.perf_counter() - started)
    finally:
        await llm.aclose()
    return samples


async def throughput(
    services: Services, fake: FakeLLMServer, width: int, turns: int, latency: float
) -> float:
    people = [await conversation(services, f"load{width}-{i}") for i in range(width)]
    fake.add_turns(*[instant_model] * (width * 2))
    await asyncio.gather(*(timed_turn(services, p, c) for p, c in people))  # sandboxes made
    fake.add_turns(*[partial(instant_model, latency=latency)] * (width * turns * 2))

    async def talk(principal: Principal, conversation_id: str) -> None:
        for _ in range(turns):
            await timed_turn(services, principal, conversation_id)

    started = time.perf_counter()
    await asyncio.gather(*(talk(p, c) for p, c in people))
    elapsed = time.perf_counter() - started
    for _principal, conversation_id in people:
        await services.sandboxes.close(conversation_id)
    return width * turns / elapsed


async def main(turns: int, rounds: int, database_url: str | None, latency_ms: float) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    sandbox = SandboxSettings(pool_size=4, max_sessions=64, timeout=60)
    with FakeLLMServer() as fake:
        settings = Settings(
            data_dir=root,
            database_url=database_url,
            sandbox=sandbox,
            llm=LLMSettings(base_url=fake.openai_base_url, api_key="test-key", model="m"),
        )
        provider = create_provider(sandbox, root / "sandboxes")
        sessions = SessionManager.from_settings(provider, sandbox)
        await provider.wait_ready()
        services = Services.from_settings(settings, sessions=sessions)
        await services.start()
        try:
            rt = await bare_round_trips(provider, turns)
            model = await bare_model_calls(settings, fake, turns)
            principal, conversation_id = await conversation(services, "solo")
            fake.add_turns(*[instant_model] * ((turns + 2) * 2))
            for _ in range(2):  # warm up: first sandbox, caches
                await timed_turn(services, principal, conversation_id)
            counts = {"transactions": 0, "statements": 0}
            engine = services.db.engine.sync_engine

            def on_commit(_connection: object) -> None:
                counts["transactions"] += 1

            def on_statement(*_args: object) -> None:
                counts["statements"] += 1

            sql_events.listen(engine, "commit", on_commit)
            sql_events.listen(engine, "before_cursor_execute", on_statement)
            cpu_started = time.process_time()
            timings = [await timed_turn(services, principal, conversation_id) for _ in range(turns)]
            cpu_ms = (time.process_time() - cpu_started) / turns * 1000
            sql_events.remove(engine, "commit", on_commit)
            sql_events.remove(engine, "before_cursor_execute", on_statement)
            rates = {
                width: max(
                    [
                        await throughput(services, fake, width, 3, latency_ms / 1000)
                        for _ in range(rounds)
                    ]
                )
                for width in (10, 50)
            }
        finally:
            await services.stop()
            await sessions.shutdown()

    rt_ms, model_ms = median_ms(rt), median_ms(model)
    tool_ms = median_ms([t["tool"] for t in timings])
    turn_ms = median_ms([t["turn"] for t in timings])
    call_shown_ms = median_ms([t["call_shown"] for t in timings])
    result_shown_ms = median_ms([t["result_shown"] for t in timings])
    tool_overhead = tool_ms - rt_ms
    turn_overhead = turn_ms - 2 * model_ms - rt_ms
    print(f"{turns} sequential turns (median); throughput: best of {rounds} runs of 3 turns each\n")
    print("| measure | median | ratio |")
    print("|---|---:|---:|")
    print(f"| baseline: bare sandbox round trip (`1+1`) | {rt_ms:.2f} ms | 1.0x |")
    print(f"| baseline: bare model call (fake server, OpenAI SDK) | {model_ms:.2f} ms | - |")
    print(f"| tool call, tool_call -> tool_result | {tool_ms:.2f} ms | {tool_ms / rt_ms:.1f}x rt |")
    print(f"| **service overhead per tool call** | **{tool_overhead:.2f} ms** | target <= 2 ms |")
    print(f"| tool call shown, from the turn's start | {call_shown_ms:.2f} ms | - |")
    print(f"| tool result shown, from the turn's start | {result_shown_ms:.2f} ms | - |")
    print(f"| turn, start -> message_end | {turn_ms:.2f} ms | {turn_ms / model_ms:.1f}x call |")
    print(
        f"| **service overhead per turn** (minus 2 calls, 1 rt) | **{turn_overhead:.2f} ms** "
        "| target <= 20 ms |"
    )
    for width, rate in rates.items():
        target = "target > 10 conversations'" if width == 50 else "-"
        print(
            f"| sustained turns/s, {width} conversations at once, model latency "
            f"{latency_ms:g} ms | {rate:.1f} /s | {target} |"
        )
    print(f"| database transactions per turn | {counts['transactions'] / turns:.1f} | - |")
    print(f"| database statements per turn | {counts['statements'] / turns:.1f} | - |")
    print(f"| CPU time of this process per turn | {cpu_ms:.1f} ms | - |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    parser.add_argument(
        "--model-latency-ms",
        type=float,
        default=250.0,
        help="the model's time to first token in the throughput rows (default 250)",
    )
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.turns, arguments.rounds, arguments.database_url, arguments.model_latency_ms)
    )
