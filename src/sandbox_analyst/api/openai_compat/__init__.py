"""The OpenAI-compatible API (`/v1/models`, `/v1/chat/completions`): assistants offered as
models to chat front ends such as LibreChat and Open WebUI, and to OpenAI's SDKs."""

from sandbox_analyst.api.openai_compat.errors import OpenAIError
from sandbox_analyst.api.openai_compat.render import TOOL_STYLES, ToolStyle
from sandbox_analyst.api.openai_compat.routes import router

__all__ = ["TOOL_STYLES", "OpenAIError", "ToolStyle", "router"]
