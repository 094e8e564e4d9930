"""The egress relay's listening socket, in a worker's own network namespace.

A fresh network namespace has its loopback interface down; bringing it up needs
CAP_NET_ADMIN over the namespace, which the worker holds only until its capabilities are
cleared, and binding must happen before Landlock forbids it. So both are done in
`ChildIsolation.apply`, between the namespaces and the privilege drop. The interface reaches
nothing but the namespace itself: there is still no route out.
"""

from __future__ import annotations

import fcntl
import socket
import struct

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = struct.Struct("16sh14x")


def bring_loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        request = _IFREQ.pack(b"lo", 0)
        _, flags = _IFREQ.unpack(fcntl.ioctl(probe.fileno(), _SIOCGIFFLAGS, request))
        fcntl.ioctl(probe.fileno(), _SIOCSIFFLAGS, _IFREQ.pack(b"lo", flags | _IFF_UP))


def listen_on_loopback(port: int) -> int:
    """Bring loopback up and listen on 127.0.0.1:`port`; the descriptor (inheritable, so it
    survives the pid namespace's fork of the worker)."""
    bring_loopback_up()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
    except BaseException:
        listener.close()
        raise
    return listener.detach()
