"""Test doubles that speak real protocols: a scripted fake LLM server for tests and demos, a
Python package index on 127.0.0.1 serving hand-written wheels, and (in `testing.s3_server`,
with the dev dependencies) an S3-compatible server on 127.0.0.1."""

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
