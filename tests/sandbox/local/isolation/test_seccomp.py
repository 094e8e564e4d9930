"""The hand-written syscall tables and the BPF program built from them."""

from __future__ import annotations

import errno
import json
import os
import re
import socket
from pathlib import Path

import pytest

from sandbox_analyst.sandbox.local.isolation import libc
from sandbox_analyst.sandbox.local.isolation.seccomp import (
    DENIED_SYSCALLS,
    IPC_SYSCALLS,
    SeccompFilter,
    compile_filter,
    native_arch,
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


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_the_egress_program_is_well_formed(arch):
    program = compile_filter(ARCHES[arch], allow_network=False, loopback_stream=True)
    assert len(program) % 8 == 0
    assert len(program) > len(compile_filter(ARCHES[arch], allow_network=False))


def _socket_outcomes_under(program: bytes) -> dict[str, str]:
    """In a forked child with `program` installed: which sockets can be made."""
    kinds = {
        "unix": (socket.AF_UNIX, socket.SOCK_STREAM),
        "inet stream": (socket.AF_INET, socket.SOCK_STREAM),
        "inet stream nonblocking": (socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK),
        "inet datagram": (socket.AF_INET, socket.SOCK_DGRAM),
        "inet6 stream": (socket.AF_INET6, socket.SOCK_STREAM),
        "netlink": (socket.AF_NETLINK, socket.SOCK_RAW),
    }
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        outcomes = {}
        try:
            libc.prctl(libc.PR_SET_NO_NEW_PRIVS, 1)
            SeccompFilter(program).install()
            for name, (family, kind) in kinds.items():
                try:
                    socket.socket(family, kind).close()
                    outcomes[name] = "made"
                except OSError as exc:
                    outcomes[name] = errno.errorcode[exc.errno]
            os.write(write, json.dumps(outcomes).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(text)


def test_the_egress_program_allows_inet_stream_sockets_and_nothing_more():
    arch = native_arch()
    if arch is None:
        pytest.skip("no seccomp syscall table for this machine")
    assert _socket_outcomes_under(compile_filter(arch, allow_network=False)) == {
        "unix": "made",
        "inet stream": "EPERM",
        "inet stream nonblocking": "EPERM",
        "inet datagram": "EPERM",
        "inet6 stream": "EPERM",
        "netlink": "EPERM",
    }
    egress = compile_filter(arch, allow_network=False, loopback_stream=True)
    assert _socket_outcomes_under(egress) == {
        "unix": "made",
        "inet stream": "made",
        "inet stream nonblocking": "made",
        "inet datagram": "EPERM",
        "inet6 stream": "EPERM",
        "netlink": "EPERM",
    }
