"""What `detect` found: one line per layer, and the overall level."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class LayerStatus(enum.Enum):
    ACTIVE = "active"
    UNAVAILABLE = "unavailable"
    DISABLED = "disabled"  # switched off on purpose by the settings


class LayerName(enum.StrEnum):
    NETWORK = "network namespace"
    FILESYSTEM = "mount namespace"
    IPC = "ipc namespace"
    PID = "pid namespace"
    LANDLOCK = "landlock"
    LANDLOCK_SCOPE = "landlock scoping"
    SECCOMP = "seccomp"
    RLIMITS = "rlimits"
    CGROUPS = "cgroups"
    UNPRIVILEGED = "unprivileged uid"


@dataclass(frozen=True)
class Layer:
    name: str
    status: LayerStatus
    detail: str
    """What the layer gives when active; why not otherwise."""
    remedy: str = ""
    """What an operator can do to get the layer (empty when active)."""

    @property
    def active(self) -> bool:
        return self.status is LayerStatus.ACTIVE


@dataclass(frozen=True)
class IsolationReport:
    """The layers probed at start-up and the level they add up to.

    Levels (the engine additionally always clears the environment of every worker):

    - ``strict``: rlimits + seccomp + network namespace (no network at all) + filesystem
      confinement (mount namespace or Landlock, usually both).
    - ``basic``: rlimits + at least one of filesystem confinement (mount namespace or Landlock)
      or seccomp.
    - ``none``: anything less.

    Landlock scoping, the IPC and pid namespaces, cgroups and the uid drop strengthen either
    level but do not define it, because none of them exists on every kernel or without root.
    """

    layers: tuple[Layer, ...]

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def is_active(self, name: str) -> bool:
        return any(layer.name == name and layer.active for layer in self.layers)

    @property
    def level(self) -> str:
        filesystem = self.is_active(LayerName.FILESYSTEM) or self.is_active(LayerName.LANDLOCK)
        seccomp = self.is_active(LayerName.SECCOMP)
        if not self.is_active(LayerName.RLIMITS):
            return "none"
        if seccomp and filesystem and self.is_active(LayerName.NETWORK):
            return "strict"
        if seccomp or filesystem:
            return "basic"
        return "none"

    def missing(self) -> list[Layer]:
        """Layers not in force, whether unavailable here or switched off by the settings."""
        return [layer for layer in self.layers if not layer.active]

    def as_rows(self) -> list[tuple[str, str, str, str]]:
        """(layer, status, detail, remedy) rows for `analyst doctor`'s table."""
        return [
            (str(layer.name), layer.status.value, layer.detail, layer.remedy)
            for layer in self.layers
        ]
