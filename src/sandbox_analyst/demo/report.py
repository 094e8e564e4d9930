"""A conversation as one self-contained HTML page: the questions, each step's code and output,
the charts and files it produced, and the answers. Styles are inline, charts and files are
embedded as `data:` URIs, there is no script: the page opens offline and can be mailed around.

It works from the API's own JSON (`GET /api/conversations/{id}`, `ConversationDetailOut`) and
the stored files the caller downloaded, so any conversation can be exported, not only the demo.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from sandbox_analyst.demo.markdown import render_markdown
from sandbox_analyst.service import file_id_of

# The sections of a tool observation (see `sandbox_analyst.agent.observation`), in order.
_SECTIONS = ("success", "stdout", "stderr", "error", "results", "files", "notes")
_SHOWN_SECTIONS = {"stdout": "output", "stderr": "stderr", "error": "error", "results": "result"}
_EMPTY_MARKERS = {"", "(empty)", "(none)"}

_STYLE = """
body{margin:0;background:#f6f7f9;color:#1d2330;font:15px/1.55 system-ui,-apple-system,
"Segoe UI",Roboto,sans-serif}
main{max-width:960px;margin:0 auto;padding:24px 20px 60px}
h1{font-size:1.6em;margin:.2em 0}
.meta{color:#5b6475;font-size:.9em}
.notice{background:#fff6d8;border:1px solid #e8cf73;border-radius:8px;padding:10px 14px;
margin:14px 0}
.turn{background:#fff;border:1px solid #dde1e8;border-radius:10px;padding:14px 18px;margin:16px 0}
.turn.user{background:#eef4ff;border-color:#c9daf8}
.role{font-weight:600;font-size:.8em;text-transform:uppercase;letter-spacing:.06em;
color:#5b6475;margin-bottom:6px}
details.step{border:1px solid #e3e6ec;border-radius:8px;margin:10px 0;background:#fbfcfd}
details.step>summary{cursor:pointer;padding:6px 10px;font-size:.9em;color:#384152}
details.step>div{padding:0 12px 10px}
.failed>summary{color:#a12a2a}
pre{background:#0f1623;color:#e6e9ef;padding:10px 12px;border-radius:6px;overflow-x:auto;
font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre}
pre.output{background:#f1f3f6;color:#1d2330;border:1px solid #e3e6ec}
pre.stderr,pre.error{background:#fdf0f0;color:#7a1f1f;border:1px solid #f0caca}
.label{font-size:.75em;text-transform:uppercase;letter-spacing:.06em;color:#6b7385;margin-top:8px}
code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef0f4;
padding:1px 4px;border-radius:4px}
pre code{background:none;padding:0;color:inherit}
img{max-width:100%;height:auto;border:1px solid #e3e6ec;border-radius:6px;background:#fff}
figure{margin:10px 0}details.step figure img{max-width:420px}
figcaption{font-size:.85em;color:#5b6475}
table{border-collapse:collapse;margin:10px 0;font-size:.92em}
th,td{border:1px solid #dde1e8;padding:4px 10px;text-align:left}th{background:#f1f3f6}
.missing,.status{color:#a12a2a}
.files a{margin-right:12px}
"""


@dataclass(frozen=True)
class ReportFile:
    """A stored file to embed: what `GET /api/files/{id}` says of it, and its bytes."""

    name: str
    media_type: str
    data: bytes

    @classmethod
    def from_api(cls, info: Mapping[str, Any], data: bytes) -> ReportFile:
        """From a `FileOut` JSON object and the downloaded content."""
        return cls(str(info["name"]), str(info["media_type"]), data)

    @property
    def data_uri(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode('ascii')}"


def render_report(
    detail: Mapping[str, Any],
    files: Mapping[str, ReportFile],
    *,
    notice: str | None = None,
) -> str:
    """The HTML page of a conversation (`ConversationDetailOut` JSON). `files` maps stored
    file ids to their content; a file not given is named but not embedded. `notice` is shown
    in a box under the title (e.g. how the conversation was produced)."""
    page = _Page(files)
    title = str(detail.get("title") or "Conversation")
    parts = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Sandbox Analyst conversation {escape(str(detail.get("id", "")))}'
        f" · {escape(str(detail.get('created_at', '')))}</p>",
    ]
    if notice:
        parts.append(f'<div class="notice">{escape(notice)}</div>')
    parts += [page.message(message) for message in detail.get("messages", [])]
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        # No script may run and nothing may load from elsewhere, whatever the content says.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )


class _Page:
    def __init__(self, files: Mapping[str, ReportFile]) -> None:
        self.files = files

    def resolve(self, url: str) -> str | None:
        file_id = file_id_of(url)
        stored = self.files.get(file_id) if file_id is not None else None
        return stored.data_uri if stored is not None else None

    def message(self, message: Mapping[str, Any]) -> str:
        role = str(message.get("role", ""))
        content = render_markdown(str(message.get("content") or ""), self.resolve)
        if role != "assistant":
            label = "You" if role == "user" else role
            return (
                f'<section class="turn user"><div class="role">{escape(label)}</div>'
                f"{content}</section>"
            )
        results = {r.get("call_id"): r for r in message.get("tool_results") or []}
        steps = [
            self.step(number, call, results.get(call.get("id")))
            for number, call in enumerate(message.get("tool_calls") or [], start=1)
        ]
        status = str(message.get("status", "complete"))
        ending = ""
        if status != "complete":
            error = message.get("error")
            reason = f": {error}" if error else ""
            ending = f'<p class="status">This turn ended {escape(status + reason)}</p>'
        return (
            '<section class="turn assistant"><div class="role">Analyst</div>'
            + "".join(steps)
            + content
            + ending
            + "</section>"
        )

    def step(self, number: int, call: Mapping[str, Any], result: Mapping[str, Any] | None) -> str:
        name = str(call.get("name", "tool"))
        outcome = "no result" if result is None else "ok" if result.get("success") else "failed"
        css = "step" if outcome == "ok" else "step failed"
        said = call.get("text") or ""
        parts = [render_markdown(str(said), self.resolve)] if said else []
        if call.get("code") is not None:
            parts.append(f'<pre class="code"><code>{escape(str(call["code"]))}</code></pre>')
        if call.get("arguments"):
            arguments = json.dumps(call["arguments"], ensure_ascii=False, indent=1)
            parts.append(f'<pre class="output">{escape(arguments)}</pre>')
        if result is not None:
            parts += self.outputs(str(result.get("observation", "")))
            parts.append(self.artifacts(result.get("artifact_ids") or []))
        return (
            f'<details class="{css}" open><summary>Step {number}: {escape(name)} — '
            f"{outcome}</summary><div>{''.join(parts)}</div></details>"
        )

    def outputs(self, observation: str) -> list[str]:
        sections = observation_sections(observation)
        if sections is None:  # not our layout: show it as it is
            return [f'<pre class="output">{escape(observation)}</pre>'] if observation else []
        shown = []
        for section, label in _SHOWN_SECTIONS.items():
            text = sections.get(section, "").strip("\n")
            if text.strip() in _EMPTY_MARKERS:
                continue
            css = section if section in ("stderr", "error") else "output"
            shown.append(f'<div class="label">{label}</div><pre class="{css}">{escape(text)}</pre>')
        notes = sections.get("notes", "").strip()
        if notes not in _EMPTY_MARKERS:
            shown.append(f'<div class="label">notes</div><pre class="output">{escape(notes)}</pre>')
        return shown

    def artifacts(self, file_ids: list[str]) -> str:
        figures, links = [], []
        for file_id in file_ids:
            stored = self.files.get(file_id)
            if stored is None:
                links.append(f'<span class="missing">{escape(file_id)} (not included)</span>')
            elif stored.media_type.startswith("image/"):
                figures.append(
                    f'<figure><img src="{escape(stored.data_uri)}" alt="{escape(stored.name)}">'
                    f"<figcaption>{escape(stored.name)}</figcaption></figure>"
                )
            else:
                links.append(
                    f'<a href="{escape(stored.data_uri)}" download="{escape(stored.name)}">'
                    f"{escape(stored.name)}</a> ({len(stored.data):,} bytes)"
                )
        files = f'<div class="files">{" ".join(links)}</div>' if links else ""
        return "".join(figures) + files


def observation_sections(observation: str) -> dict[str, str] | None:
    """The sections of a tool observation by name, or None when it is not in that layout.
    Headers are searched in their fixed order, so output that prints a header-like line
    can only shift text between neighbouring sections, never hide it."""
    sections: dict[str, str] = {}
    position = 0
    starts = []
    for name in _SECTIONS:
        header = f"{name}:" if name == "success" else f"\n{name}:\n"
        found = observation.find(header, position)
        if found < 0 or (name == "success" and found != 0):
            return None
        starts.append((name, found, found + len(header)))
        position = found + len(header)
    for (name, _, begin), following in zip(starts, [*starts[1:], None], strict=True):
        end = following[1] if following is not None else len(observation)
        sections[name] = observation[begin:end]
    return sections
