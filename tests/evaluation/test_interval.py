"""Wilson's 95% interval: inside [0, 1], honest at 0/n and n/n, narrower with more runs."""

from __future__ import annotations

import pytest

from sandbox_analyst.evaluation import wilson_interval


def test_known_values() -> None:
    assert wilson_interval(2, 3) == pytest.approx((0.2077, 0.9385), abs=1e-4)
    assert wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)


def test_all_or_nothing_stays_inside_zero_and_one() -> None:
    low, high = wilson_interval(0, 5)
    assert low == 0.0
    assert high == pytest.approx(0.4345, abs=1e-4)
    low, high = wilson_interval(5, 5)
    assert low == pytest.approx(0.5655, abs=1e-4)
    assert high == pytest.approx(1.0)


def test_more_runs_narrow_it_and_none_know_nothing() -> None:
    few, many = wilson_interval(5, 10), wilson_interval(50, 100)
    assert many[1] - many[0] < few[1] - few[0]
    assert wilson_interval(0, 0) == (0.0, 1.0)
