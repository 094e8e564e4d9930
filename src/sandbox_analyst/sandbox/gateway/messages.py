"""Jupyter messages (protocol v5) as the gateway's websocket carries them: one JSON object per
frame, with a `channel` field. Built with jupyter_client's `Session.msg`, so headers, ids and
dates follow its conventions; never signed (the gateway signs what it forwards to the kernel).
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session

from sandbox_analyst.sandbox.gateway import kernel_side

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# The code of an execute request that runs one of the bootstrap's operations; what it does is
# in the request's metadata, so user data never becomes Python source.
MODULE = "_sandbox_analyst_kernel"
CALL_CODE = f"__import__({MODULE!r}).call()"

_BOOTSTRAP_CODE = """\
def _sandbox_analyst_bootstrap(source, version, config):
    import sys, types
    name = {module!r}
    module = sys.modules.get(name)
    if getattr(module, "VERSION", None) != version:
        try:
            import _sandbox_analyst_kernel as module  # installed in the kernel image
        except ImportError:
            module = None
        if getattr(module, "VERSION", None) != version:
            module = types.ModuleType(name)
            exec(compile(source, "<sandbox-analyst kernel bootstrap>", "exec"), module.__dict__)
        sys.modules[name] = module
    module._state.reply = {{"value": module.install(config)}}
_sandbox_analyst_bootstrap({source!r}, {version!r}, {config!r})
del _sandbox_analyst_bootstrap
"""


def bootstrap_code(config: dict[str, Any]) -> str:
    """Source that installs the kernel-side module (see `kernel_side`) into a running kernel."""
    from importlib import resources

    source = resources.files(kernel_side.__package__).joinpath("kernel_side.py").read_text()
    return _BOOTSTRAP_CODE.format(
        module=MODULE, source=source, version=kernel_side.VERSION, config=config
    )


class MessageFactory:
    """Requests of one client session (its id names our websocket to the gateway, which
    replays what it buffered for that id when we reconnect)."""

    def __init__(self, username: str) -> None:
        # A key only to keep Session from warning: a websocket client never signs, the
        # gateway signs what it forwards to the kernel.
        self.session = Session(username=username, key=secrets.token_bytes(16))

    @property
    def session_id(self) -> str:
        return self.session.session

    def execute_request(
        self,
        code: str,
        *,
        request: dict[str, Any],
        silent: bool = False,
        store_history: bool = True,
    ) -> dict[str, Any]:
        content = {
            "code": code,
            "silent": silent,
            "store_history": store_history and not silent,
            "user_expressions": {},
            "allow_stdin": False,  # input() raises in the kernel instead of waiting forever
            # Never let one failed request abort the ones queued behind it.
            "stop_on_error": False,
        }
        return self._shell("execute_request", content, {kernel_side.KEY: request})

    def kernel_info_request(self) -> dict[str, Any]:
        return self._shell("kernel_info_request", {}, {})

    def input_reply(self, parent: dict[str, Any]) -> dict[str, Any]:
        message = self.session.msg("input_reply", {"value": ""}, parent=parent)
        message["channel"] = "stdin"
        return message

    def _shell(
        self, msg_type: str, content: dict[str, Any], metadata: dict[str, Any]
    ) -> dict[str, Any]:
        message = self.session.msg(msg_type, content, metadata=metadata)
        message["channel"] = "shell"
        message["buffers"] = []
        return message


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, default=json_default)


def decode(frame: str | bytes) -> dict[str, Any] | None:
    """A message from a text frame; None for anything else (binary frames carry buffers of
    comm messages, which we never use)."""
    if isinstance(frame, bytes):
        return None
    try:
        message = json.loads(frame)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def msg_id(message: dict[str, Any]) -> str | None:
    return (message.get("header") or {}).get("msg_id")


def parent_id(message: dict[str, Any]) -> str | None:
    return (message.get("parent_header") or {}).get("msg_id")


def msg_type(message: dict[str, Any]) -> str:
    return str((message.get("header") or {}).get("msg_type") or message.get("msg_type") or "")


def plain_traceback(lines: Any) -> str:
    if not isinstance(lines, list):
        return ""
    return _ANSI.sub("", "\n".join(str(line) for line in lines))
