"""A scripted model server that speaks real protocols on 127.0.0.1: OpenAI's
`/v1/chat/completions` and Anthropic's `/v1/messages`, streamed, with quirk modes of real
servers, recording every request.

A shipped component, not test-only code: `analyst demo` replays its model's turns through it
(no API key, no network), and the tests drive the real OpenAI and Anthropic SDKs against it.
It depends on nothing else of this package, and among shipped code only the demo uses it
(both kept by the import-linter contracts in pyproject.toml).
"""

from sandbox_analyst.testing.fake_llm import FakeLLMServer
from sandbox_analyst.testing.script import (
    QUIRKS,
    RecordedRequest,
    ScriptEntry,
    Turn,
    last_tool_result,
)

__all__ = ["QUIRKS", "FakeLLMServer", "RecordedRequest", "ScriptEntry", "Turn", "last_tool_result"]
