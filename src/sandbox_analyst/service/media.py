"""What an upload really is, decided from its first bytes — never from the client's
Content-Type or the file extension alone.

Accepted: CSV, TSV, Excel (xlsx and legacy xls), Parquet, JSON (and JSON lines), plain text,
and raster images (PNG, JPEG, GIF, WebP: a photographed table or a chart to reproduce; chat
front ends send pasted images as uploads). Everything else is refused — SVG too, since it can
carry script.
"""

from __future__ import annotations

import codecs
import json

SNIFF_BYTES = 64 * 1024

CSV = "text/csv"
TSV = "text/tab-separated-values"
JSON = "application/json"
NDJSON = "application/x-ndjson"
TEXT = "text/plain"
PARQUET = "application/vnd.apache.parquet"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLS = "application/vnd.ms-excel"

PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_MAGICS = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
)
_ZIP_MAGIC = b"PK\x03\x04"


def sniff_media_type(head: bytes, *, complete: bool) -> str | None:
    """The media type of content starting with `head`, or None when it is not something we
    accept. `complete` says whether `head` is the whole content."""
    if head.startswith(b"PAR1"):
        return PARQUET
    for magic, media_type in _IMAGE_MAGICS:
        if head.startswith(magic):
            return media_type
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(_ZIP_MAGIC):
        # An xlsx is a zip whose entries live under `xl/`; the names appear in the local
        # file headers at the start of the archive.
        return XLSX if b"xl/" in head and b"[Content_Types].xml" in head else None
    if head.startswith(_OLE2_MAGIC):
        return XLS
    text = _decode_text(head, complete=complete)
    if text is None:
        return None
    return _classify_text(text, complete=complete)


def _decode_text(head: bytes, *, complete: bool) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # `final=complete`: a multi-byte character cut at the end of the head is fine.
        text = decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        return None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if "\x00" in text or controls > len(text) // 100:
        return None
    return text


def _classify_text(text: str, *, complete: bool) -> str:
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        if complete:
            try:
                json.loads(stripped)
                return JSON
            except ValueError:
                pass
        if _is_json_lines(stripped, complete=complete):
            return NDJSON
        return JSON if not complete else TEXT
    lines = [line for line in text.splitlines() if line.strip()]
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    lines = lines[:20]
    for delimiter, media_type in (("\t", TSV), (",", CSV), (";", CSV)):
        if _consistently_delimited(lines, delimiter):
            return media_type
    return TEXT


def _is_json_lines(text: str, *, complete: bool) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    if not complete and len(lines) > 1:
        lines = lines[:-1]
    if len(lines) < 2:
        return False
    try:
        return all(isinstance(json.loads(line), dict | list) for line in lines[:20])
    except ValueError:
        return False


def _consistently_delimited(lines: list[str], delimiter: str) -> bool:
    """Whether every line has the same (non-zero) number of `delimiter`s. Quoted fields may
    hold delimiters; good enough to name the type, pandas does the real parsing."""
    if not lines:
        return False
    counts = {line.count(delimiter) for line in lines}
    return len(counts) == 1 and counts.pop() > 0
