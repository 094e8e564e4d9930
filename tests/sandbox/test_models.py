"""`Result.from_bundle`: a MIME bundle comes from code we do not trust; what cannot be a valid
output is dropped with a reason, never raised."""

from __future__ import annotations

import base64

from sandbox_analyst.sandbox.models import MAX_BUNDLE_ENTRY, Result

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def test_a_valid_bundle_keeps_every_format():
    notes: list[str] = []
    result = Result.from_bundle(
        {"text/plain": "fig", "image/png": PNG, "application/vnd.vega.v5+json": {"a": 1}},
        is_main_result=True,
        notes=notes,
    )
    assert (result.text, result.png, result.is_main_result) == ("fig", PNG, True)
    assert result.extra == {"application/vnd.vega.v5+json": {"a": 1}}
    assert notes == []


def test_base64_with_line_breaks_is_valid_and_kept_without_them():
    wrapped = PNG[:10] + "\n" + PNG[10:]
    assert Result.from_bundle({"image/png": wrapped}).png == PNG


def test_invalid_entries_are_dropped_with_a_reason():
    notes: list[str] = []
    result = Result.from_bundle(
        {
            "text/plain": "kept",
            "image/png": "this is not base64!",
            "image/jpeg": 12345,
            "text/html": {"not": "text"},
            "application/pdf": None,
        },
        notes=notes,
    )
    assert result.text == "kept"
    assert (result.png, result.jpeg, result.html, result.pdf) == (None, None, None, None)
    assert len(notes) == 4
    assert any("image/png" in note and "base64" in note for note in notes)
    assert any("image/jpeg" in note and "int" in note for note in notes)


def test_text_as_a_list_of_lines_is_joined():
    assert Result.from_bundle({"text/plain": ["a\n", "b"]}).text == "a\nb"


def test_huge_entries_are_dropped_and_the_size_said():
    notes: list[str] = []
    huge = "x" * (MAX_BUNDLE_ENTRY + 1)
    result = Result.from_bundle(
        {"application/x-huge": huge, "text/html": huge, "text/plain": "summary"}, notes=notes
    )
    assert result.extra == {}
    assert result.html is None
    assert result.text == "summary"
    assert len(notes) == 2
    assert all("over the" in note for note in notes)
