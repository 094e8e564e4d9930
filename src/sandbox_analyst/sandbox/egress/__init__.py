"""Controlled egress: an allow-list policy and the proxy that enforces it, outside the sandbox.

`EgressPolicy` (policy.py) decides; `serve_connection` (proxy.py) talks HTTP CONNECT and plain
HTTP for a sandbox's connections; `EgressSession` (session.py) holds one session's limits and
records. How connections get from inside a sandbox to the proxy is the backend's business
(the local one: `sandbox/local/egress_channel.py`). See docs/egress.md.
"""

from sandbox_analyst.sandbox.egress.configured import limits_from_settings, policy_from_settings
from sandbox_analyst.sandbox.egress.policy import (
    POLICY_SETTING,
    AllowEntry,
    Decision,
    DenyList,
    EgressPolicy,
    EgressPolicyError,
)
from sandbox_analyst.sandbox.egress.session import (
    EgressLimits,
    EgressRecord,
    EgressSession,
    EgressSink,
    log_record,
)

__all__ = [
    "POLICY_SETTING",
    "AllowEntry",
    "Decision",
    "DenyList",
    "EgressLimits",
    "EgressPolicy",
    "EgressPolicyError",
    "EgressRecord",
    "EgressSession",
    "EgressSink",
    "limits_from_settings",
    "log_record",
    "policy_from_settings",
]
