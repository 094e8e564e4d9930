"""Tools of MCP servers an admin registered, offered to the model beside the built-in ones:
each under a name of its own (`mcp__<server>__<tool>`, which no built-in tool has) with the
server's description and input schema. A call goes through the server side (`McpToolAccess`):
its text comes back as the observation's output, its images are saved as artifacts like
figures, and a result the server flags as an error is a failed observation with its text."""

from __future__ import annotations

import base64
import hashlib
import re

from sandbox_analyst.agent.artifacts import CallArtifacts
from sandbox_analyst.agent.observation import Observation
from sandbox_analyst.agent.tools.context import ToolContext, ToolOutcome
from sandbox_analyst.agent.tools.mcp_access import (
    McpCallResult,
    McpToolAccess,
    McpToolError,
    McpToolInfo,
)
from sandbox_analyst.agent.tools.registry import Tool, ToolRegistry
from sandbox_analyst.llm import ToolSpec
from sandbox_analyst.sandbox import Result

MCP_TOOL_PREFIX = "mcp__"
_MAX_NAME = 64  # OpenAI's and Anthropic's limit on a tool's name
_NOT_ALLOWED = re.compile(r"[^a-zA-Z0-9_-]+")
_IMAGE_FIELDS = {"image/png": "png", "image/jpeg": "jpeg", "image/svg+xml": "svg"}
_MAX_DESCRIPTION = 1024


def offered_name(server: str, tool: str) -> str:
    """The name the model calls `server`'s `tool` by: `mcp__<server>__<tool>` with every
    character the providers refuse (`^[a-zA-Z0-9_-]{1,64}$`) replaced by `_`; a name longer
    than 64 characters keeps its head and ends in a hash of the whole, so two long names
    stay apart."""
    name = MCP_TOOL_PREFIX + _NOT_ALLOWED.sub("_", server) + "__" + _NOT_ALLOWED.sub("_", tool)
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha256(f"{server}/{tool}".encode()).hexdigest()[:8]
    return f"{name[: _MAX_NAME - 9]}_{digest}"


def _schema(info: McpToolInfo) -> dict:
    schema = dict(info.input_schema) if isinstance(info.input_schema, dict) else {}
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    return schema


def _description(info: McpToolInfo) -> str:
    told = (info.description or "").strip() or f"The {info.tool} tool."
    if len(told) > _MAX_DESCRIPTION:
        told = told[: _MAX_DESCRIPTION - 3] + "..."
    return f"{told} (tool {info.tool!r} of the MCP server {info.server!r})"


async def _observation(context: ToolContext, result: McpCallResult) -> Observation:
    if result.is_error:
        observation = Observation.failure("McpToolError", result.text or "the tool failed")
        observation.notes += [f"The result also held {part}." for part in result.omitted]
        return observation
    produced = CallArtifacts(context.artifacts, context.turn.figures, context.turn.budget)
    observation = Observation(success=True, stdout=result.text)
    for image in result.images:
        field = _IMAGE_FIELDS.get(image.media_type)
        if field is None:
            produced.notes.append(f"An image of type {image.media_type} was not saved.")
            continue
        data = image.data.decode() if field == "svg" else base64.b64encode(image.data).decode()
        ref = await produced.save_figure(Result(**{field: data}))
        if ref is not None:
            observation.artifacts.append(ref)
            await context.artifact(ref)
    observation.notes += produced.finish()
    observation.notes += [f"The result also held {part}, not shown." for part in result.omitted]
    return observation


def _handler(access: McpToolAccess, info: McpToolInfo):
    async def call_mcp_tool(context: ToolContext) -> ToolOutcome:
        try:
            result = await access.call(info.offered_as, dict(context.call.arguments))
        except McpToolError as exc:
            return ToolOutcome(Observation.failure(exc.name, exc.message))
        return ToolOutcome(await _observation(context, result))

    return call_mcp_tool


def mcp_tools(access: McpToolAccess) -> list[Tool]:
    """One tool per MCP tool `access` offers."""
    return [
        Tool(
            ToolSpec(info.offered_as, _description(info), _schema(info)),
            _handler(access, info),
            usage=f"{info.offered_as}(...): {info.tool} of the MCP server {info.server}.",
        )
        for info in access.tools()
    ]


def with_mcp_tools(tools: ToolRegistry, access: McpToolAccess) -> ToolRegistry:
    """`tools` plus the MCP tools, when `access` offers any."""
    if not access.tools():
        return tools
    return ToolRegistry([*tools, *mcp_tools(access)])
