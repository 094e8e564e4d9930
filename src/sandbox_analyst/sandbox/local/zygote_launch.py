"""Starting a zygote process, and starting one ahead of need.

A zygote is launched with an environment that depends on nothing but this installation
(`launch_environment`); everything the settings decide (its HOME, thread counts, a template's
import paths, the isolation) comes later, in its `configure` message. So a command that will
want a sandbox can `launch_ahead()` before it has even read its settings: the zygote imports
IPython and the worker while the command imports its own modules (a cold `analyst exec` spends
about as long on each), and the next local pool of this interpreter adopts it.

Kept to the standard library: it runs before the command's own imports.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ZYGOTE_MODULE = "sandbox_analyst.sandbox.local.zygote"
PATH = "/usr/local/bin:/usr/bin:/bin"
MATPLOTLIB_BACKEND = "module://sandbox_analyst.sandbox.local.worker.mpl_backend"
# The directory holding the `sandbox_analyst` package: first on the zygote's import path, so
# nothing in a template's overlay can shadow the engine.
PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])


@dataclass
class LaunchedZygote:
    process: subprocess.Popen[bytes]
    control: socket.socket
    """Our end of its control socket (SOCK_SEQPACKET), blocking."""
    environment: dict[str, str]

    def discard(self) -> None:
        self.control.close()  # it exits when it reads the end of its control socket
        self.process.kill()
        self.process.wait()


def launch_environment() -> dict[str, str]:
    """The whole environment a zygote starts with: built from scratch (it holds no secret)."""
    environment = {
        "PATH": PATH,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MPLBACKEND": MATPLOTLIB_BACKEND,
        "PYTHONDONTWRITEBYTECODE": "1",
        # Its HOME comes with `configure`: until then no user site directory may be read.
        "PYTHONNOUSERSITE": "1",
        "PYTHONPATH": PACKAGE_ROOT,
    }
    if sys.flags.dev_mode:
        environment["PYTHONDEVMODE"] = "1"
    return environment


def launch_zygote(environment: dict[str, str]) -> LaunchedZygote:
    """Start a zygote process; it waits for its `configure` message. The calling thread is the
    one it dies with (PR_SET_PDEATHSIG)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        # Popen on purpose (not asyncio's subprocess API): it runs in this thread, which the
        # zygote's PDEATHSIG is tied to, and needs no event loop nor child watcher.
        process = subprocess.Popen(
            [sys.executable, "-m", ZYGOTE_MODULE, str(theirs.fileno()), str(os.getpid())],
            pass_fds=(theirs.fileno(),),
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in the server's terminal is not for us
        )
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return LaunchedZygote(process, ours, environment)


_ahead: LaunchedZygote | None = None


def launch_ahead() -> LaunchedZygote:
    """Launch the zygote the next local sandbox pool of this process will adopt (if it wants
    one started exactly so). Call it from the thread that will run the event loop; one that
    no pool adopts is ended when the process exits."""
    global _ahead
    if _ahead is None:
        _ahead = launch_zygote(launch_environment())
        atexit.register(_discard_ahead)
    return _ahead


def adopt_launched(environment: dict[str, str]) -> LaunchedZygote | None:
    """The zygote launched ahead, if one is running with exactly `environment` (else it is
    ended: a pool must not get a zygote started differently from its own)."""
    global _ahead
    launched, _ahead = _ahead, None
    if launched is None:
        return None
    if launched.environment == environment and launched.process.poll() is None:
        return launched
    launched.discard()
    return None


def _discard_ahead() -> None:
    global _ahead
    if _ahead is not None:
        _ahead.discard()
        _ahead = None
