"""The allow-list and the deny-list: what a sandbox's connection may reach, and why not."""

from __future__ import annotations

import ipaddress

import pytest

from sandbox_analyst.sandbox.egress import AllowEntry, DenyList, EgressPolicy, EgressPolicyError


def policy(*entries: str, service_ports: tuple[int, ...] = ()) -> EgressPolicy:
    return EgressPolicy.from_entries(entries, DenyList(service_ports=service_ports))


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(
    ("text", "host", "port", "prefix"),
    [
        ("files.example.com:443", "files.example.com", 443, None),
        ("Files.Example.COM.:80", "files.example.com", 80, None),
        ("*.example.com:443", "*.example.com", 443, None),
        ("127.0.0.1:8123", "127.0.0.1", 8123, None),
        ("[2001:DB8::1]:443", "2001:db8::1", 443, None),
        ("data.example.com:80/public/", "data.example.com", 80, "/public/"),
    ],
)
def test_entries_parse(text: str, host: str, port: int, prefix: str | None) -> None:
    assert AllowEntry.parse(text) == AllowEntry(host, port, prefix)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("example.com", "a port is required"),
        ("example.com:http", "is not a port"),
        ("example.com:70000", "is not a port"),
        ("exa mple.com:80", "is not a host name"),
        ("*example.com:80", "is not a host name"),
        ("a.*.example.com:80", "is not a host name"),
        ("2001:db8::1:443", "write IPv6 as [address]:port"),
        ("example.com:80/a/../b", ". or .. segments"),
    ],
)
def test_bad_entries_are_refused_naming_the_entry(text: str, says: str) -> None:
    with pytest.raises(EgressPolicyError) as raised:
        AllowEntry.parse(text)
    assert text in str(raised.value)
    assert says in str(raised.value)


def test_no_entries_means_no_egress() -> None:
    empty = policy()
    assert not empty.enabled
    decision = empty.check_request("example.com", 443, None)
    assert not decision.allowed
    assert "sandbox.egress.allow" in decision.reason


def test_exact_host_and_port() -> None:
    listed = policy("files.example.com:443")
    assert listed.check_request("FILES.example.com.", 443, None).allowed
    other_port = listed.check_request("files.example.com", 8443, None)
    assert not other_port.allowed
    assert other_port.reason == (
        "files.example.com:8443 is not in the egress allow-list (sandbox.egress.allow)"
    )
    assert not listed.check_request("example.com", 443, None).allowed
    assert not listed.check_request("evilfiles.example.com", 443, None).allowed


def test_a_wildcard_covers_names_below_the_domain_only() -> None:
    listed = policy("*.example.com:443")
    assert listed.check_request("a.example.com", 443, None).allowed
    assert listed.check_request("a.b.example.com", 443, None).allowed
    assert not listed.check_request("example.com", 443, None).allowed
    assert not listed.check_request("badexample.com", 443, None).allowed


def test_a_listed_name_does_not_cover_its_address_nor_any_raw_ip() -> None:
    listed = policy("files.example.com:443")
    decision = listed.check_request("93.184.215.14", 443, None)
    assert not decision.allowed
    assert "93.184.215.14:443 is not in the egress allow-list" in decision.reason


def test_path_prefixes_hold_for_plain_http_and_shut_tunnels() -> None:
    listed = policy("data.example.com:80/public")
    assert listed.check_request("data.example.com", 80, "/public").allowed
    assert listed.check_request("data.example.com", 80, "/public/a.csv?x=1").allowed
    assert not listed.check_request("data.example.com", 80, "/publicity").allowed
    assert not listed.check_request("data.example.com", 80, "/private/a.csv").allowed
    for trick in ("/public/../private", "/public/%2e%2e/private", "/public/..%2fprivate"):
        assert not listed.check_request("data.example.com", 80, trick).allowed, trick
    tunnel = listed.check_request("data.example.com", 80, None)
    assert not tunnel.allowed
    assert "only for plain HTTP paths" in tunnel.reason


def test_every_layer_must_agree_the_stricter_wins() -> None:
    server = policy("*.example.com:443", "127.0.0.1:8123")
    template = server.narrowed(["api.example.com:443"], "template t")
    assert template.check_request("api.example.com", 443, None).allowed
    assert not template.check_request("other.example.com", 443, None).allowed
    assert not template.check_request("127.0.0.1", 8123, None).allowed
    # A narrower layer cannot widen what the server allows.
    widened = server.narrowed(["elsewhere.org:443"], "template t")
    assert not widened.check_request("elsewhere.org", 443, None).allowed
    assert not server.narrowed([], "assistant a").enabled
    assert server.narrowed(None, "assistant a") is server


def test_a_bad_narrowing_names_its_source() -> None:
    with pytest.raises(EgressPolicyError, match="template t: egress entry 'nope'"):
        policy("a.example.com:443").narrowed(["nope"], "template t")


def test_public_addresses_of_a_listed_name_pass() -> None:
    listed = policy("files.example.com:443")
    assert listed.check_address("files.example.com", ip("93.184.215.14"), 443).allowed


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "100.64.0.1", "::1",
                "fe80::1", "0.0.0.0", "::ffff:127.0.0.1", "fc00::5"],
)  # fmt: skip
def test_a_name_resolving_to_a_non_public_address_is_refused(address: str) -> None:
    decision = policy("files.example.com:443").check_address("files.example.com", ip(address), 443)
    assert not decision.allowed
    assert "files.example.com resolves to" in decision.reason
    assert "non-public address" in decision.reason
    assert "sandbox.egress.allow" in decision.reason


def test_a_non_public_address_listed_by_address_passes() -> None:
    listed = policy("127.0.0.1:8123", "localhost:8123")
    assert listed.check_address("localhost", ip("127.0.0.1"), 8123).allowed
    assert listed.check_address("127.0.0.1", ip("::ffff:127.0.0.1"), 8123).allowed
    assert not listed.check_address("127.0.0.1", ip("127.0.0.1"), 8124).allowed


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "100.100.100.200"])
def test_metadata_addresses_are_refused_even_when_listed(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    listed = policy(f"{host}:80", "metadata.example.com:80")
    for name in (address, "metadata.example.com"):
        decision = listed.check_address(name, ip(address), 80)
        assert not decision.allowed
        assert "cloud metadata address" in decision.reason
        assert "deny-list" in decision.reason


def test_the_services_own_ports_are_refused_even_when_listed() -> None:
    listed = policy("127.0.0.1:8000", "127.0.0.1:8123", service_ports=(8000,))
    decision = listed.check_address("127.0.0.1", ip("127.0.0.1"), 8000)
    assert not decision.allowed
    assert "port 8000 on 127.0.0.1 is the service's own" in decision.reason
    assert listed.check_address("127.0.0.1", ip("127.0.0.1"), 8123).allowed


def test_describe_shows_each_layer() -> None:
    assert policy().describe() == ["none (sandboxes have no network)"]
    narrowed = policy("*.example.com:443", "[::1]:80/x").narrowed(["a.example.com:443"], "t")
    assert narrowed.describe() == ["*.example.com:443, [::1]:80/x", "a.example.com:443"]
