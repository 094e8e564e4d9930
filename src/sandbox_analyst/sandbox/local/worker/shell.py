"""The IPython `InteractiveShell` a worker runs code in: rich reprs, display(), magics, plain-text
tracebacks sent to the server as structured errors."""

from __future__ import annotations

import os
import re
from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from sandbox_analyst.sandbox.local.worker import plotly_display
from sandbox_analyst.sandbox.local.worker.channel import ServerChannel
from sandbox_analyst.sandbox.local.worker.display import ChannelDisplayHook, ChannelDisplayPublisher
from sandbox_analyst.sandbox.local.worker.pip_magic import pip_magic

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


class WorkerShell(InteractiveShell):
    displayhook_class = ChannelDisplayHook
    display_pub_class = ChannelDisplayPublisher
    channel: ServerChannel | None = None

    def _showtraceback(self, etype: type, evalue: BaseException, stb: list[str]) -> None:
        if self.channel is None:
            return
        traceback = _ANSI.sub("", self.InteractiveTB.stb2text(stb))
        self.channel.send(
            {
                "type": "error",
                "name": getattr(etype, "__name__", str(etype)),
                "value": _safe_str(evalue),
                "traceback": traceback,
            }
        )


def _safe_str(value: Any) -> str:
    # A hostile or broken exception may raise from __str__; the error must still be reported.
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def create_shell() -> WorkerShell:
    """Build the shell. Called once in the zygote: with history off it starts no thread, and
    every worker then shares its (frozen) objects copy-on-write instead of building its own."""
    config = Config()
    # The history manager starts a thread and writes SQLite; a worker needs neither.
    config.HistoryManager.enabled = False
    config.InteractiveShell.colors = "nocolor"
    config.InteractiveShell.autoindent = False
    config.InteractiveShell.autocall = 0
    config.InteractiveShell.separate_in = ""
    config.InteractiveShell.xmode = "Context"
    shell = WorkerShell.instance(config=config)
    shell.register_magic_function(pip_magic, magic_kind="line", magic_name="pip")
    plotly_display.install()
    return shell


def attach_shell(channel: ServerChannel) -> WorkerShell:
    """In a worker: the zygote's shell, now reporting to this worker's channel."""
    shell = WorkerShell.instance()
    # The zygote built the shell elsewhere: point its notion of home and directory history
    # at this worker's workdir (and don't reveal the server's working directory).
    shell.home_dir = os.getcwd()
    shell.user_ns["_dh"][:] = [os.getcwd()]
    shell.channel = channel
    shell.displayhook.channel = channel
    shell.display_pub.channel = channel
    return shell
