"""Test doubles that speak real protocols: a scripted fake LLM server for tests and demos, and
a Python package index on 127.0.0.1 serving hand-written wheels."""

from sandbox_analyst.testing.fake_llm import FakeLLMServer
from sandbox_analyst.testing.package_index import LocalPackageIndex
from sandbox_analyst.testing.script import (
    QUIRKS,
    RecordedRequest,
    ScriptEntry,
    Turn,
    last_tool_result,
)

__all__ = [
    "QUIRKS",
    "FakeLLMServer",
    "LocalPackageIndex",
    "RecordedRequest",
    "ScriptEntry",
    "Turn",
    "last_tool_result",
]
