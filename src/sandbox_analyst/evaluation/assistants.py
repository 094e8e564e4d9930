"""Which assistants an evaluation compares: named by id or name, and the model each runs."""

from __future__ import annotations

from sandbox_analyst.config import ConfigError
from sandbox_analyst.evaluation.results import AssistantInfo
from sandbox_analyst.llm import resolve_endpoint
from sandbox_analyst.service import AssistantCreate, NotFound, Principal, Services
from sandbox_analyst.store import Assistant

# The assistant `analyst chat` and the web page use when none is chosen.
DEFAULT_ASSISTANT_NAME = "Analyst"


async def find_assistant(services: Services, principal: Principal, wanted: str) -> Assistant:
    """The assistant with the id or the name `wanted`; `NotFound` when there is none."""
    try:
        return await services.assistants.get(principal, wanted)
    except NotFound:
        named = [a for a in await services.assistants.list(principal, query=wanted, limit=500)]
        exact = [assistant for assistant in named if assistant.name == wanted]
        if not exact:
            raise NotFound(f"no assistant with the id or name {wanted!r}") from None
        mine = [assistant for assistant in exact if assistant.owner_id == principal.user_id]
        return (mine or exact)[0]


async def default_assistant(services: Services, principal: Principal) -> Assistant:
    """The caller's own "Analyst", made with the default settings if they have none."""
    mine = await services.assistants.list(principal, mine=True, query=DEFAULT_ASSISTANT_NAME)
    for assistant in mine:
        if assistant.name == DEFAULT_ASSISTANT_NAME:
            return assistant
    return await services.assistants.create(principal, AssistantCreate(name=DEFAULT_ASSISTANT_NAME))


def assistant_info(services: Services, assistant: Assistant) -> AssistantInfo:
    """The assistant and the provider and model its turns call."""
    llm = services.settings.llm
    provider = assistant.provider or llm.provider
    model = assistant.model
    if model is None:
        try:
            model = resolve_endpoint(llm, provider).model
        except ConfigError:
            model = None
    return AssistantInfo(assistant.id, assistant.name, provider, model or llm.model)
