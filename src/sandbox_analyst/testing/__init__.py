"""Test doubles that speak real protocols on 127.0.0.1, shipped with the package.

`FakeLLMServer`: a scripted model server speaking OpenAI's `/v1/chat/completions` and
Anthropic's `/v1/messages`, streamed, with quirk modes of real servers, recording every
request. A shipped component, not test-only code: `analyst demo` replays its model's turns
through it (no API key, no network), and the tests drive the real OpenAI and Anthropic SDKs
against it. `LocalPackageIndex`: a Python package index serving hand-written wheels, for the
template and install tests.

It depends on nothing else of this package, and among shipped code only the demo uses it
(both kept by the import-linter contracts in pyproject.toml).
"""

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
