"""Isolation settings and report as plain JSON, for the trip from the server to the zygote."""

from __future__ import annotations

import dataclasses
from typing import Any

from sandbox_analyst.sandbox.local.isolation.report import IsolationReport, Layer, LayerStatus
from sandbox_analyst.sandbox.local.isolation.settings import IsolationSettings


def isolation_to_wire(settings: IsolationSettings, report: IsolationReport) -> dict[str, Any]:
    return {
        "settings": dataclasses.asdict(settings),
        "layers": [
            {
                "name": str(layer.name),
                "status": layer.status.value,
                "detail": layer.detail,
                "remedy": layer.remedy,
            }
            for layer in report.layers
        ],
    }


def isolation_from_wire(wire: dict[str, Any]) -> tuple[IsolationSettings, IsolationReport]:
    raw = dict(wire["settings"])
    raw["hidden_paths"] = tuple(raw.get("hidden_paths", ()))
    raw["read_paths"] = tuple(raw.get("read_paths", ()))
    layers = tuple(
        Layer(
            name=item["name"],
            status=LayerStatus(item["status"]),
            detail=item["detail"],
            remedy=item["remedy"],
        )
        for item in wire["layers"]
    )
    return IsolationSettings(**raw), IsolationReport(layers)
