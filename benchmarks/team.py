"""Team mode benchmark: the seed design's task run by our team (`agent/team/`) and by AutoGen
AgentChat's Swarm, in one run, against the same scripted model and the same sandbox.

    uv run --group autogen python benchmarks/team.py [--rounds 5]

The task (100 random points, statistics, a histogram, outliers by z-score) runs
Planner -> CodeAgent -> Planner -> AnalystAgent -> Planner -> TERMINATE in both: the fake
OpenAI-compatible server (`sandbox_analyst.testing`) answers each model call from the same
script over HTTP, through each framework's own OpenAI client; the code tool of both runs in
one of our sandboxes (AutoGen's through a function tool calling `Sandbox.run_code`).

Measured per run, medians over the rounds: messages each framework keeps for the run (ours:
the turn's assistant and tool messages; AutoGen: `TaskResult.messages`, its chat messages and
events), model calls, wall time, time inside model calls (client + fake server) and inside
the sandbox's `run_code`, and what is left: the framework's own overhead, per model call and
per message. Ratios are AutoGen's over ours. Our side does more per step than AutoGen's
(a workdir listing before and after each run, written files saved as artifacts, observations
rendered), all counted as our overhead.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox_analyst.agent import AgentConfig, ArtifactRef, FinalEvent, Team, default_team
from sandbox_analyst.agent.artifact_limits import ArtifactUsage
from sandbox_analyst.config import LLMSettings, SandboxSettings, Settings
from sandbox_analyst.llm import create_llm
from sandbox_analyst.sandbox.local import LocalSandbox, SandboxPool
from sandbox_analyst.testing import FakeLLMServer, Turn

TASK = (
    "Generate 100 random points, give their statistics, draw a histogram and find the "
    "outliers by z-score."
)
CODE = """\
import numpy as np, pandas as pd
import matplotlib.pyplot as plt
rng = np.random.default_rng(7)
values = rng.normal(50, 5, 100)
values[[10, 60]] = [90.0, 5.0]
points = pd.DataFrame({"value": values})
z = (points["value"] - points["value"].mean()) / points["value"].std()
outliers = points[z.abs() > 3].assign(z=z[z.abs() > 3].round(2))
outliers.to_csv("outliers.csv", index_label="index")
plt.hist(points["value"], bins=20)
plt.savefig("histogram.png")
plt.close()
print(points["value"].describe().round(2).to_string())
print("outliers:", len(outliers))
"""
MODEL = "test-model"
API_KEY = "bench-key"


def script() -> list[Turn]:
    """The model's side of the task: the same answers for both frameworks."""
    return [
        Turn(tool_calls=[("transfer_to_CodeAgent", {"reason": "generate and compute"})]),
        Turn(tool_calls=[("execute_code", {"code": CODE})]),
        Turn(tool_calls=[("transfer_to_Planner", {"reason": "outliers.csv is ready"})]),
        Turn(tool_calls=[("transfer_to_AnalystAgent", {"reason": "interpret outliers.csv"})]),
        Turn(tool_calls=[("read_file", {"path": "outliers.csv"})]),
        Turn(
            text="Two planted outliers (90 and 5) stand out; |z| > 3 suits a normal sample.",
            tool_calls=[("transfer_to_Planner", {"reason": "interpretation done"})],
        ),
        Turn(text="Two outliers out of 100 points: 90 and 5. See histogram.png.\nTERMINATE"),
    ]


@dataclass
class Clock:
    """Time spent inside model calls and inside the sandbox's code runs."""

    model: float = 0.0
    sandbox: float = 0.0

    async def timed_stream(self, stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
        started = time.perf_counter()
        try:
            async for item in stream:
                self.model += time.perf_counter() - started
                yield item
                started = time.perf_counter()
        finally:
            self.model += time.perf_counter() - started


class TimedSandbox:
    """The sandbox, with the time its `run_code` takes counted."""

    def __init__(self, sandbox: LocalSandbox, clock: Clock) -> None:
        self._sandbox = sandbox
        self._clock = clock

    async def run_code(self, code: str, **options: Any) -> Any:
        started = time.perf_counter()
        try:
            return await self._sandbox.run_code(code, **options)
        finally:
            self._clock.sandbox += time.perf_counter() - started

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sandbox, name)


class TimedLLM:
    def __init__(self, llm: Any, clock: Clock) -> None:
        self._llm = llm
        self._clock = clock

    def stream(self, messages: Any, tools: Any) -> AsyncIterator[Any]:
        return self._clock.timed_stream(self._llm.stream(messages, tools))

    async def aclose(self) -> None:
        await self._llm.aclose()


class MemorySink:
    async def save(self, name: str, data: bytes, media_type: str) -> ArtifactRef:
        return ArtifactRef(name, name, f"/files/{name}", media_type, len(data))

    async def saved_names(self) -> list[str]:
        return []

    async def saved_usage(self) -> ArtifactUsage:
        return ArtifactUsage()


@dataclass
class Run:
    messages: int
    model_calls: int
    wall: float
    model: float
    sandbox: float

    @property
    def overhead(self) -> float:
        return self.wall - self.model - self.sandbox


async def run_ours(fake: FakeLLMServer, sandbox: LocalSandbox) -> Run:
    clock = Clock()
    llm = create_llm(
        Settings(
            llm=LLMSettings(
                provider="openai", base_url=fake.openai_base_url, api_key=API_KEY, model=MODEL
            )
        )
    )
    fake.add_turns(*script())
    calls_before = len(fake.model_requests)
    team = Team(
        TimedLLM(llm, clock),  # type: ignore[arg-type]
        TimedSandbox(sandbox, clock),  # type: ignore[arg-type]
        MemorySink(),
        AgentConfig(),
        default_team(),
    )

    async def ignore(event: object) -> None:
        return None

    started = time.perf_counter()
    final: FinalEvent = await team.run([], TASK, [], ignore)
    wall = time.perf_counter() - started
    await llm.aclose()
    assert final.stop_reason == "terminate", final
    calls = len(fake.model_requests) - calls_before
    return Run(len(final.messages), calls, wall, clock.model, clock.sandbox)


async def run_autogen(fake: FakeLLMServer, sandbox: LocalSandbox) -> Run:
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.base import Handoff
    from autogen_agentchat.conditions import MaxMessageTermination, TextMentionTermination
    from autogen_agentchat.teams import Swarm
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    clock = Clock()
    timed = TimedSandbox(sandbox, clock)

    class TimedClient(OpenAIChatCompletionClient):
        def create_stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            return clock.timed_stream(super().create_stream(*args, **kwargs))

    client = TimedClient(
        model=MODEL,
        base_url=fake.openai_base_url,
        api_key=API_KEY,
        model_info={
            "vision": False,
            "function_calling": True,
            "json_output": False,
            "structured_output": False,
            "family": "unknown",
        },
    )

    async def execute_code(code: str) -> str:
        """Run Python in the shared sandbox; returns what it printed, or its error."""
        execution = await timed.run_code(code, timeout=60)
        text = "".join(execution.logs.stdout)
        if execution.error is not None:
            text += f"\n{execution.error.name}: {execution.error.value}"
        return text

    async def read_file(path: str) -> str:
        """The text of a file in the sandbox's working directory."""
        return (await timed.files.read_bytes(path)).decode()

    roles = {role.name: role for role in default_team().roles}

    def agent(name: str, tools: list[Callable[..., Any]]) -> AssistantAgent:
        role = roles[name]
        return AssistantAgent(
            name,
            client,
            tools=tools,
            # AutoGen lower-cases its handoff tools' names by default; the script uses ours.
            handoffs=[Handoff(target=t, name=f"transfer_to_{t}") for t in role.handoffs],
            system_message=role.instructions,
            model_client_stream=True,
        )

    swarm = Swarm(
        [
            agent("Planner", []),
            agent("CodeAgent", [execute_code]),
            agent("AnalystAgent", [read_file]),
        ],
        termination_condition=TextMentionTermination("TERMINATE") | MaxMessageTermination(30),
    )
    fake.add_turns(*script())
    calls_before = len(fake.model_requests)
    started = time.perf_counter()
    result = await swarm.run(task=TASK)
    wall = time.perf_counter() - started
    await client.close()
    assert "TERMINATE" in (result.stop_reason or ""), result.stop_reason
    calls = len(fake.model_requests) - calls_before
    return Run(len(result.messages), calls, wall, clock.model, clock.sandbox)


def medians(runs: list[Run]) -> dict[str, float]:
    return {
        "messages": statistics.median(r.messages for r in runs),
        "model_calls": statistics.median(r.model_calls for r in runs),
        "wall": statistics.median(r.wall for r in runs),
        "model": statistics.median(r.model for r in runs),
        "sandbox": statistics.median(r.sandbox for r in runs),
        "overhead": statistics.median(r.overhead for r in runs),
        "per_call": statistics.median(r.overhead / r.model_calls for r in runs),
        "per_message": statistics.median(r.overhead / r.messages for r in runs),
    }


def table(ours: dict[str, float], theirs: dict[str, float] | None) -> str:
    rows = [
        ("messages kept for the run", "messages", 1, ""),
        ("model calls", "model_calls", 1, ""),
        ("wall time", "wall", 1000, " ms"),
        ("  inside model calls", "model", 1000, " ms"),
        ("  inside sandbox run_code", "sandbox", 1000, " ms"),
        ("wall time excluding model latency", None, 1000, " ms"),
        ("framework overhead", "overhead", 1000, " ms"),
        ("overhead per model call", "per_call", 1000, " ms"),
        ("overhead per message", "per_message", 1000, " ms"),
    ]

    def value(data: dict[str, float], key: str | None) -> float:
        return data["wall"] - data["model"] if key is None else data[key]

    header = "| measure | ours | AutoGen Swarm | AutoGen / ours |\n|---|---:|---:|---:|"
    lines = [header]
    for label, key, scale, unit in rows:
        mine = value(ours, key) * scale
        other = value(theirs, key) * scale if theirs is not None else None
        shown = f"{other:,.1f}{unit}" if other is not None else "n/a"
        ratio = f"{other / mine:.2f}x" if other is not None and mine else "n/a"
        lines.append(f"| {label} | {mine:,.1f}{unit} | {shown} | {ratio} |")
    return "\n".join(lines)


async def main(rounds: int) -> None:
    try:
        import autogen_agentchat  # noqa: F401

        have_autogen = True
    except ImportError:
        print("AutoGen AgentChat is not installed (uv run --group autogen ...): ours alone.")
        have_autogen = False
    with tempfile.TemporaryDirectory() as root, FakeLLMServer(api_key=API_KEY) as fake:
        settings = SandboxSettings(pool_size=2, timeout=60, preload=["pandas", "matplotlib.pyplot"])
        async with SandboxPool(settings, Path(root)) as pool:
            await pool.wait_ready()
            ours: list[Run] = []
            theirs: list[Run] = []
            # One warm-up round each (imports, connection set-up), not counted.
            for index in range(rounds + 1):
                async with await pool.acquire() as sandbox:
                    run = await run_ours(fake, sandbox)
                    if index:
                        ours.append(run)
                if have_autogen:
                    async with await pool.acquire() as sandbox:
                        run = await run_autogen(fake, sandbox)
                        if index:
                            theirs.append(run)
    print(f"Seed task, {rounds} rounds each (medians), scripted model over HTTP, one sandbox\n")
    print(table(medians(ours), medians(theirs) if theirs else None))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
