"""Test doubles that speak real protocols: a scripted fake LLM server for tests and demos."""

from sandbox_analyst.testing.fake_llm import FakeLLMServer
from sandbox_analyst.testing.script import (
    QUIRKS,
    RecordedRequest,
    ScriptEntry,
    Turn,
    last_tool_result,
)

__all__ = ["QUIRKS", "FakeLLMServer", "RecordedRequest", "ScriptEntry", "Turn", "last_tool_result"]
