"""A missing module is explained to the model: the template the session runs and what can be
done (ask for an install, or tell the user that an admin adds the package), instead of a bare
ModuleNotFoundError it would retry."""

from __future__ import annotations

import pytest

from sandbox_analyst.agent import ToolResultEvent
from sandbox_analyst.agent.missing_module import missing_module, missing_module_note
from sandbox_analyst.testing import FakeLLMServer, Turn
from tests.agent.conftest import code_call, of_type, run_turn

DONE = Turn(text="Done.")


@pytest.mark.asyncio(loop_scope="session")
async def test_the_observation_names_the_template_and_how_an_admin_adds_the_package(
    make_agent, fake: FakeLLMServer
) -> None:
    agent = make_agent(
        code_call("import analyst_nowhere.sub"),
        DONE,
        template="nlp",
        allowed_libraries=["pandas", "nltk"],
    )

    events = await run_turn(agent, "Tokenize.")

    (result,) = of_type(events, ToolResultEvent)
    assert result.error["name"] == "ModuleNotFoundError"
    assert "'analyst_nowhere' is not installed in this sandbox (template 'nlp')" in (
        result.observation
    )
    assert "do not retry the import or pip" in result.observation
    assert "add 'analyst-nowhere' to the 'nlp' template" in result.observation
    system = fake.model_requests[0].json["messages"][0]["content"]
    assert "Libraries you may use: pandas, nltk" in system
    assert "runs the 'nlp' template" in system
    assert "install_package" not in system


@pytest.mark.asyncio(loop_scope="session")
async def test_with_installs_allowed_the_model_is_pointed_at_install_package(
    make_agent, fake: FakeLLMServer
) -> None:
    agent = make_agent(code_call("import sklearn_extra"), DONE, allow_installs=True)

    events = await run_turn(agent, "Cluster.")

    (result,) = of_type(events, ToolResultEvent)
    assert "install_package(name='sklearn-extra')" in result.observation
    assert "install_package(name, version)" in fake.model_requests[0].json["messages"][0]["content"]


def test_only_a_missing_module_gets_a_note_with_the_package_to_ask_for() -> None:
    assert missing_module("ModuleNotFoundError", "No module named 'cv2.dnn'") == "cv2"
    assert missing_module("ImportError", "cannot import name 'x' from 'y'") is None
    note = missing_module_note(
        "ModuleNotFoundError", "No module named 'sklearn'", template="default", installs=True
    )
    assert note is not None
    assert "install_package(name='scikit-learn')" in note
    assert missing_module_note("ValueError", "bad", template="default", installs=False) is None
