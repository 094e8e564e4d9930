"""Sandboxes made through the E2B-compatible API: ownership, lifetime, access tokens, code
contexts and running commands. The E2B wire itself is `api.e2b`'s business."""

from sandbox_analyst.service.e2b.errors import (
    ContextNotFound,
    ContextSetupFailed,
    DefaultContextProtected,
    InvalidAccessToken,
    InvalidTimeout,
    ProcessNotFound,
    SandboxLimitReached,
    SandboxNotRunning,
    TemplateNotFound,
    UnsupportedLanguage,
)
from sandbox_analyst.service.e2b.live import (
    CodeContext,
    CommandEnd,
    CommandEvent,
    CommandOutput,
    Language,
    LiveSandbox,
    RunningCommand,
    normalize_language,
)
from sandbox_analyst.service.e2b.metrics import MetricSample, SandboxLimits
from sandbox_analyst.service.e2b.sandboxes import (
    TEMPLATE_ALIASES,
    E2BSandboxService,
    SandboxView,
    SessionSource,
)
from sandbox_analyst.service.e2b.sessions import ManagedSessions

__all__ = [
    "TEMPLATE_ALIASES",
    "CodeContext",
    "CommandEnd",
    "CommandEvent",
    "CommandOutput",
    "ContextNotFound",
    "ContextSetupFailed",
    "DefaultContextProtected",
    "E2BSandboxService",
    "InvalidAccessToken",
    "InvalidTimeout",
    "Language",
    "LiveSandbox",
    "ManagedSessions",
    "MetricSample",
    "ProcessNotFound",
    "RunningCommand",
    "SandboxLimitReached",
    "SandboxLimits",
    "SandboxNotRunning",
    "SandboxView",
    "SessionSource",
    "TemplateNotFound",
    "UnsupportedLanguage",
    "normalize_language",
]
