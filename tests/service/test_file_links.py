"""Links to stored files' content: built relative or under `server.public_url`, signed for
clients without our header, and found again in an answer's text or a URL."""

from __future__ import annotations

from sandbox_analyst.service import (
    content_path,
    content_url,
    file_id_of,
    file_links_in,
    signed_content_url,
)


def test_links_are_relative_or_under_the_public_url() -> None:
    assert content_path("f1") == "/api/files/f1/content"
    assert content_url("f1") == "/api/files/f1/content"
    assert content_url("f1", "https://analyst.example/") == (
        "https://analyst.example/api/files/f1/content"
    )
    assert signed_content_url("f1", "99.mac", "https://analyst.example") == (
        "https://analyst.example/api/files/f1/content?sig=99.mac"
    )


def test_links_in_a_text_are_found_with_any_signature_they_carry() -> None:
    text = (
        "See ![chart](/api/files/f1/content) and [data](https://h.test/api/files/f_2/content"
        "?sig=1.abc) but not /api/files/../content or /api/other/f3/content."
    )

    links = list(file_links_in(text))

    assert [link.file_id for link in links] == ["f1", "f_2"]
    assert text[links[0].start : links[0].end] == "/api/files/f1/content"
    assert text[links[1].start : links[1].end] == "https://h.test/api/files/f_2/content?sig=1.abc"


def test_the_file_a_url_points_at() -> None:
    assert file_id_of("https://h.test/api/files/f1/content?sig=1.abc") == "f1"
    assert file_id_of("/api/files/f1/content#top") == "f1"
    assert file_id_of("/api/files/f1") is None
    assert file_id_of("https://elsewhere.test/chart.png") is None
