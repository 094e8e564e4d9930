"""IPython display machinery wired to the server channel: `display()` calls and the cell's last
value become `result` frames instead of text on a terminal."""

from __future__ import annotations

import base64
import json
from typing import Any

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher

from sandbox_analyst.sandbox.local.worker.channel import ServerChannel

_BINARY_MIME = {"image/png", "image/jpeg", "application/pdf"}


def encode_bundle(data: dict[str, Any]) -> dict[str, Any]:
    """Make a MIME bundle JSON-safe: binary formats as base64, odd objects as their repr."""
    bundle: dict[str, Any] = {}
    for mime, value in data.items():
        if isinstance(value, bytes | bytearray | memoryview):
            if mime in _BINARY_MIME:
                value = base64.b64encode(bytes(value)).decode("ascii")
            else:
                value = bytes(value).decode("utf-8", "replace")
        else:
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                value = repr(value)
        bundle[mime] = value
    return bundle


class ChannelDisplayPublisher(DisplayPublisher):
    """Sends every `display(...)` to the server as a non-main result."""

    channel: ServerChannel | None = None

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):
        if self.channel is not None and data:
            self.channel.send({"type": "result", "bundle": encode_bundle(data), "main": False})

    def clear_output(self, wait=False):
        # There is no live output area to clear; results are a list.
        pass


class ChannelDisplayHook(DisplayHook):
    """Sends the cell's last expression value as the main result (no `Out[n]:` printing)."""

    channel: ServerChannel | None = None

    def write_output_prompt(self):
        pass

    def write_format_data(self, format_dict, md_dict=None):
        if self.channel is not None:
            bundle = encode_bundle(format_dict)
            self.channel.send({"type": "result", "bundle": bundle, "main": True})

    def log_output(self, format_dict):
        # History is off in the worker; keeping every output would only grow memory.
        pass

    def finish_displayhook(self):
        self._is_active = False
