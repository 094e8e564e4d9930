"""Display names and Content-Disposition headers that no file name can subvert."""

from __future__ import annotations

import pytest

from sandbox_analyst.service.filenames import content_disposition, safe_display_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("report.csv", "report.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\data.xlsx", "data.xlsx"),
        ("..", "file"),
        ("", "file"),
        (None, "file"),
        ("new\r\nline.csv", "newline.csv"),
        ("nul\x00byte.csv", "nulbyte.csv"),
        ("evil\u202egpj.exe", "evilgpj.exe"),
        ("  spaced .csv ", "spaced .csv"),
        ("日本語のデータ.csv", "日本語のデータ.csv"),
        ("e\u0301te.csv", "\u00e9te.csv"),  # NFC
    ],
)
def test_display_names(raw: str | None, expected: str) -> None:
    assert safe_display_name(raw) == expected


def test_long_names_keep_their_extension() -> None:
    name = safe_display_name("a" * 400 + ".parquet")
    assert len(name) == 255
    assert name.endswith(".parquet")


def test_content_disposition_has_an_ascii_fallback_and_the_exact_name() -> None:
    header = content_disposition('q"1;\\résumé.csv')
    assert header == (
        "attachment; filename=\"q_1__r_sum_.csv\"; filename*=UTF-8''q%221%3B%5Cr%C3%A9sum%C3%A9.csv"
    )
    assert content_disposition("chart.png", inline=True).startswith("inline;")
