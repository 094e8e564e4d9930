"""Telling a front end's side requests (Open WebUI's `### Task:` prompts) from its users'
questions, and finding the user's words inside Open WebUI's retrieval template."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox_analyst.api.openai_compat.schemas import ChatCompletionRequest
from sandbox_analyst.api.openai_compat.tasks import is_task_request, user_words

TITLE = "### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history."
RETRIEVAL = (
    "### Task:\nRespond to the user query using the provided context, incorporating inline "
    'citations.\n\n<context>\n<source id="1">a,b</source>\n</context>\n'
)


def request(content: str, **fields: Any) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {"model": "m", "messages": [{"role": "user", "content": content}], **fields}
    )


@pytest.mark.parametrize(
    ("body", "is_task"),
    [
        (request(TITLE, max_tokens=1000), True),
        (request("  \n" + TITLE), True),  # leading blank lines
        (request(TITLE, tools=[]), True),  # an empty tool list is no tools
        (request(TITLE, stream=True), False),  # the chat's own streamed request
        (request(TITLE, tools=[{"type": "function", "function": {"name": "f"}}]), False),
        (request(RETRIEVAL + "Which columns?"), False),  # a question with a file's text
        (request("Generate a title for my report"), False),
        (request("Explain this:\n### Task:\nGenerate a title"), False),  # not at the start
    ],
)
def test_a_side_request_is_an_unstreamed_task_prompt_without_tools(
    body: ChatCompletionRequest, is_task: bool
) -> None:
    assert is_task_request(body) is is_task


def test_only_the_last_user_message_decides() -> None:
    body = ChatCompletionRequest.model_validate(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": TITLE},
                {"role": "assistant", "content": "Title"},
                {"role": "user", "content": "Now plot it"},
            ],
        }
    )

    assert not is_task_request(body)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (RETRIEVAL + "\nWhich columns?", "Which columns?"),
        (RETRIEVAL + '<attached_files>\n<file url="x"/>\n</attached_files>\n\nSum b', "Sum b"),
        (RETRIEVAL + "<user_query>Why?</user_query>\nAnswer well.", "Why?"),
        ("Plot sales", "Plot sales"),
        (TITLE, TITLE),
        (RETRIEVAL, RETRIEVAL),  # no words after the template: nothing better to offer
    ],
)
def test_the_users_words_are_found_inside_the_retrieval_template(text: str, words: str) -> None:
    assert user_words(text) == words
