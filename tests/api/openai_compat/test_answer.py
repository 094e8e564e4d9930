"""A turn's events written as one answer: the model's words as they come, steps between
them, our file links signed, and every file shown once."""

from __future__ import annotations

from sandbox_analyst.agent import (
    ArtifactEvent,
    ArtifactRef,
    ErrorEvent,
    ResultEvent,
    StdoutEvent,
    TokenEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from sandbox_analyst.api.openai_compat.answer import AnswerWriter
from sandbox_analyst.service import ChatEvent, MessageEndEvent


async def sign(file_id: str) -> str | None:
    return (
        None
        if file_id == "someone-elses"
        else f"https://x.test/api/files/{file_id}/content?sig=9.s"
    )


def chart(name: str = "figure-1.png", file_id: str = "f1") -> ArtifactEvent:
    return ArtifactEvent(
        "c1", ArtifactRef(file_id, name, f"/api/files/{file_id}/content", "image/png", 10)
    )


def result(code: str = "x", *, stdout: str = "", error: dict | None = None) -> ToolResultEvent:
    return ToolResultEvent(
        "c1", "execute_code", error is None, "obs", code, stdout, "", error, 0.5, False
    )


async def write_all(events: list[ChatEvent], style: str = "markdown") -> str:
    writer = AnswerWriter(style, sign)  # type: ignore[arg-type]
    pieces = [await writer.write(event) for event in events]
    return "".join(pieces) + await writer.close()


async def test_the_models_words_pass_through_a_word_at_a_time() -> None:
    writer = AnswerWriter("markdown", sign)
    assert await writer.write(TokenEvent("Hello wor")) == "Hello "
    assert await writer.write(TokenEvent("ld, you")) == "world, "
    assert await writer.close() == "you"


async def test_a_link_split_across_tokens_is_signed_and_made_absolute() -> None:
    text = await write_all(
        [TokenEvent("See ![chart](/api/fi"), TokenEvent("les/f1/cont"), TokenEvent("ent) here")]
    )
    assert text == "See ![chart](https://x.test/api/files/f1/content?sig=9.s) here"


async def test_links_to_files_the_caller_may_not_read_are_left_alone() -> None:
    text = await write_all([TokenEvent("[x](/api/files/someone-elses/content)")])
    assert text == "[x](/api/files/someone-elses/content)"


async def test_a_step_comes_between_the_words_with_its_output_and_files() -> None:
    text = await write_all(
        [
            TokenEvent("Let me look."),
            ToolCallEvent("c1", "execute_code", {"code": "x"}, "x"),
            StdoutEvent("c1", "printed\n"),
            ResultEvent("c1", ["text/plain"], "   a\n0  1", None),
            chart(),
            result(stdout="printed\n"),
            TokenEvent("Here: ![figure-1.png](/api/files/f1/content)"),
        ]
    )
    url = "https://x.test/api/files/f1/content?sig=9.s"
    assert text == (
        "Let me look.\n\n**Code**\n\n```python\nx\n```\n\n*ok in 0.50 s*\n\n"
        f"```text\nprinted\n   a\n0  1\n```\n\nFiles: [figure-1.png]({url})\n\n"
        f"Here: ![figure-1.png]({url})"
    )


async def test_files_the_model_did_not_show_are_added_at_the_end() -> None:
    text = await write_all(
        [
            ToolCallEvent("c1", "execute_code", {"code": "x"}, "x"),
            chart(),
            chart("figure-2.png", "f2"),
            result(),
            TokenEvent("Only ![one](/api/files/f2/content) shown."),
        ],
        style="details",
    )
    assert text.count("figure-2.png") == 1  # in the step's files; the model showed it as "one"
    assert text.endswith(
        "Only ![one](https://x.test/api/files/f2/content?sig=9.s) shown.\n\n"
        "![figure-1.png](https://x.test/api/files/f1/content?sig=9.s)\n"
    )


async def test_a_failed_step_shows_its_traceback() -> None:
    error = {
        "name": "NameError",
        "value": "name 'y' is not defined",
        "traceback": "\x1b[31mNameError\x1b[0m: y",
    }
    text = await write_all(
        [ToolCallEvent("c1", "execute_code", {"code": "y"}, "y"), result("y", error=error)]
    )
    assert "*failed in 0.50 s*\n\n```text\nNameError: y\n```" in text


async def test_errors_are_notes_and_usage_is_kept() -> None:
    writer = AnswerWriter("markdown", sign)
    text = await writer.write(TokenEvent("Partial"))
    text += await writer.write(ErrorEvent("the model is unreachable", "llm_error"))
    await writer.write(
        MessageEndEvent(
            "m", "failed", "failed", {"input_tokens": 3, "output_tokens": 4}, 1.0, None, []
        )
    )
    text += await writer.close()
    assert text == "Partial\n\n> **Error:** the model is unreachable\n\n"
    assert writer.usage == {"input_tokens": 3, "output_tokens": 4}
