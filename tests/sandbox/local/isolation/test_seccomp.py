"""The hand-written syscall tables and the BPF program built from them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox_analyst.sandbox.local.isolation.seccomp import (
    DENIED_SYSCALLS,
    IPC_SYSCALLS,
    compile_filter,
)
from sandbox_analyst.sandbox.local.isolation.syscall_numbers import ARCHES

_HEADERS = {
    "x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    "aarch64": Path("/usr/include/asm-generic/unistd.h"),
}


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_syscall_numbers_match_the_kernel_headers(arch):
    header = _HEADERS[arch]
    if not header.exists():
        pytest.skip(f"{header} not installed (Debian: linux-libc-dev)")
    defined = {
        name: int(number)
        for name, number in re.findall(r"#define __NR(?:3264)?_(\w+)\s+(\d+)", header.read_text())
    }
    assert {name: defined.get(name) for name in ARCHES[arch].syscalls} == ARCHES[arch].syscalls


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_every_denied_call_is_known_or_absent_on_purpose(arch):
    missing = set(DENIED_SYSCALLS) - set(ARCHES[arch].syscalls)
    assert missing <= {"uselib", "iopl", "ioperm"}  # x86-only calls


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_every_ipc_call_is_known(arch):
    assert set(IPC_SYSCALLS) <= set(ARCHES[arch].syscalls)


@pytest.mark.parametrize("arch", sorted(ARCHES))
@pytest.mark.parametrize("allow_network", [False, True])
@pytest.mark.parametrize("deny_ipc", [False, True])
def test_program_is_well_formed(arch, allow_network, deny_ipc):
    program = compile_filter(ARCHES[arch], allow_network=allow_network, deny_ipc=deny_ipc)
    assert len(program) % 8 == 0
    assert len(program) // 8 < 4096  # BPF_MAXINSNS
    # First instruction loads the architecture word of seccomp_data.
    assert program[:8] == bytes.fromhex("2000000004000000")
