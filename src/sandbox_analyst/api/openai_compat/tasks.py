"""A chat front end's side requests ("tasks"), told apart from its users' questions.

Open WebUI, with its default settings, sends its side requests to the model the user chose:
a chat title, tags, follow-up suggestions, search queries, autocompletion. Each is one user
message written from its `### Task:` prompt family, sent without streaming and without tools,
in the same chat (same `X-OpenWebUI-Chat-Id`) as the question it is about, and often while
that question's answer is still running. Answered as a turn, each would run the analyst and
be stored as something the user said; so `/v1` answers them with the assistant's model alone.

Open WebUI's retrieval template opens with `### Task:` too, but it wraps a real question (with
an attached file's text) and arrives as the chat's own streamed request: it is a question.
`user_words` finds the question inside it, for the conversation's title.
"""

from __future__ import annotations

import re
from typing import Literal

from sandbox_analyst.api.openai_compat.schemas import ChatCompletionRequest

TASK_PREFIX = "### Task:"
# The first words of Open WebUI's retrieval (RAG) template, after the prefix.
_RAG_TASK = "respond to the user query using the provided context"
_USER_QUERY = re.compile(r"<user_query>(.*?)</user_query>", re.S)
# Where Open WebUI's retrieval template and its file list end; the question follows.
_CONTEXT_ENDS = ("</context>", "</attached_files>")


def is_task_request(body: ChatCompletionRequest) -> bool:
    """Whether `body` is a front end's side request rather than a question for the analyst."""
    if body.stream or body.tools:
        return False
    last = next((m for m in reversed(body.messages) if m.role == "user"), None)
    return last is not None and _prompt_kind(last.text) == "task"


def user_words(text: str) -> str:
    """The user's own words in `text`: the question inside Open WebUI's retrieval template,
    or `text` itself."""
    if _prompt_kind(text) != "retrieval":
        return text
    quoted = _USER_QUERY.search(text)
    if quoted and quoted.group(1).strip():
        return quoted.group(1).strip()
    end = max((text.rfind(tag) + len(tag) for tag in _CONTEXT_ENDS if tag in text), default=0)
    return text[end:].strip() or text


def _prompt_kind(text: str) -> Literal["task", "retrieval"] | None:
    """Which of Open WebUI's `### Task:` prompts `text` is, if any: the retrieval template
    (a question) or one of the side requests'."""
    stripped = text.lstrip()
    if not stripped.startswith(TASK_PREFIX):
        return None
    task = stripped[len(TASK_PREFIX) :].lstrip().lower()
    return "retrieval" if task.startswith(_RAG_TASK) else "task"
