"""The egress allow-list: which `host:port` (and, for plain HTTP, which path prefixes) a
sandbox may reach, and the deny-list that always wins.

An entry is `host:port[/path/prefix]`, where host is a name (`files.example.com`), a wildcard
(`*.example.com`: any name below example.com, not example.com itself), an IPv4 address or a
bracketed IPv6 one (`[2001:db8::1]:443`). A path prefix only ever matches plain HTTP
requests, whose path the proxy can read; a TLS tunnel (CONNECT) is allowed only by an entry
without one.

Whatever the entries say, an address that is not public (loopback, private, link-local,
shared, reserved...) is refused unless an entry names that very address, and the deny-list
(cloud metadata addresses, the service's own ports) is refused even then. Names are resolved
by the proxy and every address they resolve to is checked, so a listed name cannot be
pointed at a denied address.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from sandbox_analyst.sandbox.errors import SandboxUsageError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

POLICY_SETTING = "sandbox.egress.allow"
METADATA_ADDRESSES: tuple[Address, ...] = (
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack...
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
)
_NAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)


class EgressPolicyError(SandboxUsageError):
    """An allow-list entry that cannot be understood; names the entry and what is wrong."""

    code = "invalid_egress_policy"


@dataclass(frozen=True)
class AllowEntry:
    host: str
    """Lower-case name, `*.domain`, or the text of an IP address."""
    port: int
    path_prefix: str | None = None

    @classmethod
    def parse(cls, text: str) -> AllowEntry:
        raw = text.strip()
        authority, slash, path = raw.partition("/")
        if authority.startswith("["):
            host, bracket, rest = authority[1:].partition("]")
            if not bracket or not rest.startswith(":"):
                raise EgressPolicyError(f"egress entry {text!r}: write IPv6 as [address]:port")
            port_text = rest[1:]
        else:
            host, colon, port_text = authority.rpartition(":")
            if not colon:
                raise EgressPolicyError(f"egress entry {text!r}: a port is required (host:port)")
            if ":" in host:
                raise EgressPolicyError(f"egress entry {text!r}: write IPv6 as [address]:port")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise EgressPolicyError(f"egress entry {text!r}: {port_text!r} is not a port")
        host = normalized_host(host)
        literal = _ip(host)
        if literal is not None:
            host = str(literal)
        else:
            name = host[2:] if host.startswith("*.") else host
            if not _NAME.match(name) or "*" in name:
                raise EgressPolicyError(
                    f"egress entry {text!r}: {host!r} is not a host name, *.domain or address"
                )
        prefix = None
        if slash:
            prefix = _clean_path("/" + path)
            if prefix is None:
                raise EgressPolicyError(f"egress entry {text!r}: the path has . or .. segments")
        return cls(host, int(port_text), prefix)

    @property
    def address(self) -> Address | None:
        return _ip(self.host)

    def matches_authority(self, host: str, port: int) -> bool:
        if port != self.port:
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host

    def matches(self, host: str, port: int, path: str | None) -> bool:
        """Whether this entry lets a request for `host:port` (and `path`, None for a
        tunnel, whose path is unknown) through; the addresses are checked separately."""
        if not self.matches_authority(host, port):
            return False
        if self.path_prefix is None:
            return True
        if path is None:
            return False
        return _within(path, self.path_prefix)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}{self.path_prefix or ''}"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    """Why, naming the setting that decided: shown to the code and written to the log."""


@dataclass(frozen=True)
class DenyList:
    """What no allow-list entry can open."""

    addresses: tuple[Address, ...] = METADATA_ADDRESSES
    service_ports: tuple[int, ...] = ()
    """The service's own ports: refused on every address of this machine (loopback and
    unspecified), whatever is listed."""

    def refuses(self, address: Address, port: int) -> str | None:
        address = _unmapped(address)
        if address in self.addresses:
            return f"{address} is a cloud metadata address, never reachable from a sandbox"
        if port in self.service_ports and (address.is_loopback or address.is_unspecified):
            return f"port {port} on {address} is the service's own"
        return None


@dataclass(frozen=True)
class EgressPolicy:
    """One or more allow-lists that must *all* let a connection through (the server's, the
    template's, the assistant's: the stricter wins), and the deny-list."""

    layers: tuple[tuple[AllowEntry, ...], ...] = ()
    deny: DenyList = field(default_factory=DenyList)

    @classmethod
    def from_entries(cls, entries: Iterable[str], deny: DenyList | None = None) -> EgressPolicy:
        parsed = tuple(AllowEntry.parse(entry) for entry in entries)
        return cls((parsed,) if parsed else (), deny or DenyList())

    @property
    def enabled(self) -> bool:
        """False: no egress at all (the default), the sandbox keeps no network."""
        return bool(self.layers) and all(self.layers)

    def narrowed(self, entries: Sequence[str] | None, source: str) -> EgressPolicy:
        """This policy with another allow-list that must also agree; `None` changes nothing,
        an empty list turns egress off."""
        if entries is None:
            return self
        try:
            parsed = tuple(AllowEntry.parse(entry) for entry in entries)
        except EgressPolicyError as exc:
            raise EgressPolicyError(f"{source}: {exc}") from exc
        return EgressPolicy((*self.layers, parsed), self.deny)

    def describe(self) -> list[str]:
        """Each allow-list, one line each, for `analyst doctor` and the logs."""
        if not self.enabled:
            return ["none (sandboxes have no network)"]
        return [", ".join(str(entry) for entry in layer) for layer in self.layers]

    def check_request(self, host: str, port: int, path: str | None) -> Decision:
        """The name part of the check: is `host:port` (and `path`) listed everywhere?"""
        if not self.layers:
            return Decision(False, f"egress is off ({POLICY_SETTING} is empty)")
        if not self.enabled:
            return Decision(
                False,
                f"egress is off for this sandbox: {POLICY_SETTING} is narrowed to nothing "
                "(by its template or session)",
            )
        host = normalized_host(host)
        for layer in self.layers:
            if not any(entry.matches(host, port, path) for entry in layer):
                what = f"{_show(host)}:{port}" + (path if path and _has_prefixes(layer) else "")
                if path is None and any(entry.matches_authority(host, port) for entry in layer):
                    return Decision(
                        False,
                        f"{what} is listed only for plain HTTP paths by the egress policy "
                        f"({POLICY_SETTING}); a TLS tunnel cannot be checked by path",
                    )
                return Decision(False, f"{what} is not in the egress allow-list ({POLICY_SETTING})")
        return Decision(True, "listed")

    def check_address(self, host: str, address: Address, port: int) -> Decision:
        """The address part: may a connection go to `address`, which `host` resolved to?"""
        address = _unmapped(address)
        refused = self.deny.refuses(address, port)
        if refused is not None:
            return Decision(False, f"{refused} (egress deny-list, whatever {POLICY_SETTING} says)")
        if not address.is_global and not self._names_address(address, port):
            shown = _show(normalized_host(host))
            via = "" if shown == str(address) else f"{shown} resolves to "
            return Decision(
                False,
                f"{via}{address}, a non-public address, which the egress policy "
                f"({POLICY_SETTING}) does not list by address",
            )
        return Decision(True, f"{address} allowed")

    def _names_address(self, address: Address, port: int) -> bool:
        return all(
            any(entry.address == address and entry.port == port for entry in layer)
            for layer in self.layers
        )


def normalized_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def _has_prefixes(layer: tuple[AllowEntry, ...]) -> bool:
    return any(entry.path_prefix for entry in layer)


def _show(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _ip(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _unmapped(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _clean_path(path: str) -> str | None:
    """`path` percent-decoded, without its query; None when a segment is `.` or `..` (which a
    server could resolve outside the listed prefix)."""
    decoded = unquote(path.split("?", 1)[0].split("#", 1)[0])
    segments = decoded.split("/")
    if any(segment in (".", "..") for segment in segments) or "\\" in decoded:
        return None
    return posixpath.join("/", decoded.lstrip("/")) if decoded != "/" else "/"


def _within(path: str, prefix: str) -> bool:
    cleaned = _clean_path(path)
    if cleaned is None:
        return False
    if prefix.endswith("/"):
        return cleaned.startswith(prefix)
    return cleaned == prefix or cleaned.startswith(prefix + "/")
