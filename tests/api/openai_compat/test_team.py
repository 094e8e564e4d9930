"""A team-mode assistant through `/v1/chat/completions` with OpenAI's SDK: the answer is
markdown with a heading per speaking role and a line per handoff, no handoff tool steps and
never the word TERMINATE."""

from __future__ import annotations

import pytest

from sandbox_analyst.service import AssistantUpdate, Services
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.api.openai_compat.conftest import V1User

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize("stream", [False, True])
async def test_a_team_answer_names_each_role_and_each_handoff(
    fake: FakeLLMServer, alice: V1User, services: Services, stream: bool
) -> None:
    await services.assistants.update(
        alice.principal, alice.assistant_id, AssistantUpdate(mode="team")
    )
    fake.add_turns(
        Turn(tool_calls=[("transfer_to_CodeAgent", {"reason": "multiply"})]),
        Turn(tool_calls=[("execute_code", {"code": "print(6 * 7)"})]),
        Turn(tool_calls=[("transfer_to_Planner", {"reason": "printed 42"})]),
        Turn(text="Six times seven is 42.\nTERMINATE"),
    )
    request = {"role": "user", "content": "What is six times seven?"}

    if stream:
        chunks = await alice.client.chat.completions.create(
            model=alice.model, messages=[request], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
    else:
        completion = await alice.client.chat.completions.create(
            model=alice.model, messages=[request]
        )
        text = completion.choices[0].message.content or ""

    assert text.index("*Planner → CodeAgent: multiply*") < text.index("#### CodeAgent")
    assert text.index("#### CodeAgent") < text.index("```text\n42\n```")
    assert text.index("*CodeAgent → Planner: printed 42*") < text.rindex("#### Planner")
    assert text.rstrip().endswith("Six times seven is 42.")
    assert "transfer_to_" not in text
    assert "TERMINATE" not in text
