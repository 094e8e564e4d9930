"""The first rows of a text file, read from its head only: a row cut by the end of the head is
never shown, wide tables and long cells are bounded, and nothing in the data is interpreted."""

from __future__ import annotations

from sandbox_analyst.web.table_preview import MAX_CELL_CHARS, MAX_COLUMNS, preview_head


def test_a_row_cut_by_the_end_of_the_head_is_dropped() -> None:
    head = b"a,b\n1,2\n3,4\n5,6"  # "5,6" may continue past the head
    preview = preview_head(head, media_type="text/csv", complete=False, rows=10)
    assert preview.rows == [["1", "2"], ["3", "4"]]
    assert preview.truncated is True


def test_the_whole_file_is_not_truncated() -> None:
    preview = preview_head(b"a,b\n1,2", media_type="text/csv", complete=True, rows=10)
    assert preview.rows == [["1", "2"]]
    assert preview.truncated is False


def test_quoted_fields_with_delimiters_and_newlines_stay_one_cell() -> None:
    head = b'name,note\n"Smith, J","two\nlines"\n'
    preview = preview_head(head, media_type="text/csv", complete=True, rows=10)
    assert preview.rows == [["Smith, J", "two\nlines"]]


def test_a_byte_order_mark_is_not_part_of_the_first_column() -> None:
    head = "\ufeffcity\tsales\nOslo\t10\n".encode()
    preview = preview_head(head, media_type="text/tab-separated-values", complete=True, rows=5)
    assert preview.columns == ["city", "sales"]


def test_wide_tables_and_long_cells_are_bounded() -> None:
    width = MAX_COLUMNS + 10
    header = ",".join(f"c{i}" for i in range(width))
    row = ",".join(["x" * (MAX_CELL_CHARS * 2)] * width)
    head = f"{header}\n{row}\n".encode()
    preview = preview_head(head, media_type="text/csv", complete=True, rows=5)
    assert len(preview.columns) == MAX_COLUMNS
    assert len(preview.rows[0]) == MAX_COLUMNS
    assert len(preview.rows[0][0]) == MAX_CELL_CHARS
    assert preview.truncated is True
    assert str(width) in preview.note


def test_invalid_utf8_is_replaced_not_refused() -> None:
    preview = preview_head(b"a\n\xff\n", media_type="text/plain", complete=True, rows=5)
    assert preview.format == "text"
    assert preview.text == "a\n\ufffd"


def test_a_json_document_that_is_not_a_list_is_shown_as_text() -> None:
    head = b'{"name": "x", "values": [1, 2]}'
    preview = preview_head(head, media_type="application/json", complete=True, rows=3)
    assert preview.format == "text"
    assert preview.text.splitlines()[0] == "{"
    assert preview.truncated is True


def test_binary_formats_have_no_preview() -> None:
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    preview = preview_head(b"PK\x03\x04", media_type=xlsx, complete=True, rows=5)
    assert preview.format == "none"
    assert preview.rows == []
