"""Isolation of local sandbox workers: namespaces, mounts, Landlock, seccomp, rlimits, cgroups.

`detect(settings)` probes, at start-up, which layers hold on this host; `ChildIsolation.prepare`
resolves everything once in the zygote; `ChildIsolation.apply(workdir, session_id)` confines a
freshly forked worker. See SECURITY.md for what each layer stops and what it does not.
"""

from sandbox_analyst.sandbox.local.isolation.child import ChildIsolation, Confined
from sandbox_analyst.sandbox.local.isolation.detect import detect
from sandbox_analyst.sandbox.local.isolation.privileges import harden_current_process
from sandbox_analyst.sandbox.local.isolation.report import (
    IsolationReport,
    Layer,
    LayerName,
    LayerStatus,
)
from sandbox_analyst.sandbox.local.isolation.settings import IsolationSettings

__all__ = [
    "ChildIsolation",
    "Confined",
    "IsolationReport",
    "IsolationSettings",
    "Layer",
    "LayerName",
    "LayerStatus",
    "detect",
    "harden_current_process",
]
