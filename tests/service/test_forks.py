"""What a fork rewrites in the messages it copies: links to the original's files point at the
copies (unsigned), other links stay; and how its title is made. The fork itself, with real
sandboxes, is tested in tests/api/chat/test_fork.py."""

from __future__ import annotations

from sandbox_analyst.service.forks import _fork_title, _relinked


def test_links_to_copied_files_point_at_the_copies() -> None:
    text = (
        "![chart](/api/files/old1/content) and "
        "[data](https://analyst.example/api/files/old2/content?sig=123.abc) and "
        "[kept](/api/files/unknown/content)"
    )

    relinked = _relinked(text, {"old1": "new1", "old2": "new2"})

    assert relinked == (
        "![chart](/api/files/new1/content) and "
        "[data](https://analyst.example/api/files/new2/content) and "
        "[kept](/api/files/unknown/content)"
    )
    assert _relinked("no links", {"a": "b"}) == "no links"


def test_the_title_says_fork_and_fits() -> None:
    assert _fork_title("Sales") == "Sales (fork)"
    assert _fork_title("  ") == "Conversation (fork)"
    assert len(_fork_title("x" * 200)) == 200
    assert _fork_title("x" * 200).endswith(" (fork)")
