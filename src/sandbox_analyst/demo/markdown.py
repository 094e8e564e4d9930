"""The markdown models write (headings, paragraphs, lists, pipe tables, fenced code, inline code,
bold, italics, links and images) rendered as HTML that is safe to open: every piece of text is
escaped, and a link or image URL is used only when it is a stored file the caller resolved to a
`data:` URI, or an ordinary http(s)/mailto link. Anything else stays visible as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape

# A stored file's URL (relative, absolute or signed) -> a data: URI, or None if not included.
ResolveFile = Callable[[str], str | None]

_SAFE_LINK = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def render_markdown(text: str, resolve: ResolveFile) -> str:
    """HTML for `text`; `resolve` turns a stored file's URL into a `data:` URI (or None)."""
    blocks: list[str] = []
    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
        elif _FENCE.match(line):
            index = _code_block(lines, index, blocks)
        elif heading := _HEADING.match(line):
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{render_inline(heading.group(2), resolve)}</h{level}>")
            index += 1
        elif _BULLET.match(line) or _NUMBERED.match(line):
            index = _list(lines, index, blocks, resolve)
        elif _is_table(lines, index):
            index = _table(lines, index, blocks, resolve)
        else:
            index = _paragraph(lines, index, blocks, resolve)
    return "\n".join(blocks)


def render_inline(text: str, resolve: ResolveFile) -> str:
    """One line or paragraph: code spans kept literal, then links, images and emphasis."""
    pieces = re.split(r"(`[^`\n]+`)", text)
    out = []
    for piece in pieces:
        if len(piece) > 1 and piece.startswith("`") and piece.endswith("`"):
            out.append(f"<code>{escape(piece[1:-1])}</code>")
        else:
            out.append(_emphasised_with_links(piece, resolve))
    return "".join(out)


def _emphasised_with_links(text: str, resolve: ResolveFile) -> str:
    # Links become placeholders first, so emphasis never reaches into their URLs.
    anchors: list[str] = []

    def keep(match: re.Match[str]) -> str:
        anchors.append(_link(match.group(1) == "!", match.group(2), match.group(3), resolve))
        return f"\x00{len(anchors) - 1}\x00"

    html = escape(_LINK.sub(keep, text.replace("\x00", "")))
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    html = _ITALIC.sub(r"<em>\1</em>", html)
    return re.sub(r"\x00(\d+)\x00", lambda m: anchors[int(m.group(1))], html)


def _link(is_image: bool, label: str, url: str, resolve: ResolveFile) -> str:
    data_uri = resolve(url)
    if is_image:
        if data_uri is not None and data_uri.startswith("data:image/"):
            return f'<img src="{escape(data_uri)}" alt="{escape(label)}">'
        return f'<span class="missing">[image not included: {escape(label or url)}]</span>'
    if data_uri is not None:
        return f'<a href="{escape(data_uri)}" download="{escape(label)}">{escape(label)}</a>'
    if _SAFE_LINK.match(url):
        return f'<a href="{escape(url)}" rel="noreferrer">{escape(label)}</a>'
    return escape(f"{label} ({url})")


def _code_block(lines: list[str], index: int, blocks: list[str]) -> int:
    fence = _FENCE.match(lines[index])
    marker = fence.group(1) if fence else "```"
    body = []
    index += 1
    while index < len(lines) and not lines[index].strip().startswith(marker):
        body.append(lines[index])
        index += 1
    blocks.append(f'<pre class="code"><code>{escape(chr(10).join(body))}</code></pre>')
    return index + 1


def _list(lines: list[str], index: int, blocks: list[str], resolve: ResolveFile) -> int:
    ordered = _NUMBERED.match(lines[index]) is not None
    pattern = _NUMBERED if ordered else _BULLET
    items: list[str] = []
    while index < len(lines) and lines[index].strip():
        item = pattern.match(lines[index])
        if item:
            items.append(item.group(1))
        elif items:  # a continuation line of the previous item
            items[-1] += " " + lines[index].strip()
        else:
            break
        index += 1
    tag = "ol" if ordered else "ul"
    rendered = "".join(f"<li>{render_inline(item, resolve)}</li>" for item in items)
    blocks.append(f"<{tag}>{rendered}</{tag}>")
    return index


def _is_table(lines: list[str], index: int) -> bool:
    return (
        "|" in lines[index]
        and index + 1 < len(lines)
        and _TABLE_RULE.match(lines[index + 1]) is not None
    )


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table(lines: list[str], index: int, blocks: list[str], resolve: ResolveFile) -> int:
    header = _cells(lines[index])
    index += 2
    rows = []
    while index < len(lines) and "|" in lines[index] and lines[index].strip():
        rows.append(_cells(lines[index]))
        index += 1
    head = "".join(f"<th>{render_inline(cell, resolve)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{render_inline(cell, resolve)}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    blocks.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return index


def _paragraph(lines: list[str], index: int, blocks: list[str], resolve: ResolveFile) -> int:
    body = []
    while index < len(lines) and lines[index].strip():
        line = lines[index]
        starts_block = _FENCE.match(line) or _HEADING.match(line) or _BULLET.match(line)
        if body and (starts_block or _is_table(lines, index)):
            break
        body.append(line.strip())
        index += 1
    blocks.append(f"<p>{'<br>'.join(render_inline(line, resolve) for line in body)}</p>")
    return index
