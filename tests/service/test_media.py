"""Upload types are decided by content, not by name or Content-Type."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from sandbox_analyst.service.media import (
    CSV,
    JSON,
    NDJSON,
    PARQUET,
    TEXT,
    TSV,
    XLSX,
    sniff_media_type,
)


def excel_bytes() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1, 2]}).to_excel(buffer, index=False)
    return buffer.getvalue()


def parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1, 2]}).to_parquet(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"a,b\n1,2\n3,4\n", CSV),
        ("\ufeffcity;ventes\nNîmes;3\n".encode(), CSV),
        (b"a\tb\n1\t2\n", TSV),
        (json.dumps({"rows": [1, 2]}).encode(), JSON),
        (b'{"a": 1}\n{"a": 2}\n', NDJSON),
        (b"just some notes\nabout the data\n", TEXT),
        (b"", TEXT),
        (excel_bytes(), XLSX),
        (parquet_bytes(), PARQUET),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', TEXT),
        (b"\x89PNX\r\n", None),
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", None),
        (b"\xff\xfe\x00\x00garbage", None),
        (b"PK\x03\x04 some other zip", None),
    ],
)
def test_sniffing_whole_content(content: bytes, expected: str | None) -> None:
    assert sniff_media_type(content, complete=True) == expected


def test_a_head_cut_inside_a_character_or_line_is_still_text() -> None:
    cut_mid_line = ("x,é\n" * 100).encode()[:-3]
    assert sniff_media_type(cut_mid_line, complete=False) == CSV
    cut_in_character = "a,b\n1,é".encode()[:-1]
    assert sniff_media_type(cut_in_character, complete=False) == CSV
