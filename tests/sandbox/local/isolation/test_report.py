"""The level a set of layers adds up to, and the rows `analyst doctor` prints."""

from __future__ import annotations

import pytest

from sandbox_analyst.sandbox.local.isolation import IsolationReport, Layer, LayerName, LayerStatus


def _report(*active: LayerName) -> IsolationReport:
    return IsolationReport(
        tuple(
            Layer(name, LayerStatus.ACTIVE, "in force")
            if name in active
            else Layer(name, LayerStatus.UNAVAILABLE, "not here", "a remedy")
            for name in LayerName
        )
    )


N = LayerName


@pytest.mark.parametrize(
    ("active", "level"),
    [
        ((), "none"),
        ((N.SECCOMP, N.LANDLOCK, N.NETWORK, N.FILESYSTEM), "none"),  # no rlimits
        ((N.RLIMITS,), "none"),
        ((N.RLIMITS, N.CGROUPS, N.UNPRIVILEGED), "none"),
        ((N.RLIMITS, N.SECCOMP), "basic"),
        ((N.RLIMITS, N.LANDLOCK), "basic"),
        ((N.RLIMITS, N.FILESYSTEM, N.NETWORK), "basic"),
        ((N.RLIMITS, N.SECCOMP, N.LANDLOCK, N.NETWORK), "strict"),
        ((N.RLIMITS, N.SECCOMP, N.FILESYSTEM, N.NETWORK), "strict"),
        (tuple(LayerName), "strict"),
    ],
)
def test_level(active, level):
    assert _report(*active).level == level


def test_missing_lists_every_layer_not_in_force():
    report = _report(N.RLIMITS, N.SECCOMP)
    assert {layer.name for layer in report.missing()} == set(LayerName) - {N.RLIMITS, N.SECCOMP}


def test_doctor_rows_are_plain_strings(report):
    rows = report.as_rows()
    assert len(rows) == len(LayerName)
    for row in rows:
        assert len(row) == 4
        assert all(type(cell) is str for cell in row)
        assert row[1] in {status.value for status in LayerStatus}
    assert [row[0] for row in rows] == [name.value for name in LayerName]
