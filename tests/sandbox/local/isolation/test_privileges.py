"""`harden_current_process` keeps same-uid processes out of the server's /proc entries."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sandbox_analyst.sandbox.local.isolation import harden_current_process
from sandbox_analyst.sandbox.local.isolation.privileges import set_dumpable

from .conftest import outcome

_UID = 54321


def _environ_readable_by_same_uid(harden: bool) -> str:
    """A 'server' child and a 'sandbox' child, both uid 54321: can the second read the first's
    environment?"""
    ready_r, ready_w = os.pipe()
    server = os.fork()
    if server == 0:  # pragma: no cover - child
        try:
            os.setresgid(_UID, _UID, _UID)
            os.setresuid(_UID, _UID, _UID)
            if harden:
                harden_current_process()
            else:  # undo the reset that the uid change itself causes
                set_dumpable(True)
            os.write(ready_w, b"x")
            time.sleep(30)
        finally:
            os._exit(0)
    os.read(ready_r, 1)
    result_r, result_w = os.pipe()
    sandbox = os.fork()
    if sandbox == 0:  # pragma: no cover - child
        try:
            os.setresgid(_UID, _UID, _UID)
            os.setresuid(_UID, _UID, _UID)
            os.write(result_w, outcome(Path(f"/proc/{server}/environ").read_bytes).encode())
        finally:
            os._exit(0)
    os.waitpid(sandbox, 0)
    os.close(result_w)
    result = os.read(result_r, 100).decode()
    os.kill(server, 9)
    os.waitpid(server, 0)
    for fd in (ready_r, ready_w, result_r):
        os.close(fd)
    return result


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run two processes as another uid")
def test_hardened_process_environment_is_private_even_to_its_own_uid():
    assert _environ_readable_by_same_uid(harden=False) == "ok"
    assert _environ_readable_by_same_uid(harden=True) == "PermissionError"
