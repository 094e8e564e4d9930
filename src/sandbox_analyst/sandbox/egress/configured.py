"""The policy and limits `sandbox.egress` configures."""

from __future__ import annotations

from sandbox_analyst.config import EgressSettings
from sandbox_analyst.sandbox.egress.policy import DenyList, EgressPolicy
from sandbox_analyst.sandbox.egress.session import EgressLimits


def policy_from_settings(settings: EgressSettings) -> EgressPolicy:
    """The server-wide policy; raises `EgressPolicyError` naming a bad entry."""
    deny = DenyList(service_ports=tuple(settings.service_ports))
    return EgressPolicy.from_entries(settings.allow, deny)


def limits_from_settings(settings: EgressSettings) -> EgressLimits:
    return EgressLimits(
        connections_per_minute=settings.max_connections_per_minute,
        concurrent_connections=settings.max_concurrent_connections,
        bytes_per_session=settings.max_bytes_per_session,
    )
