"""Wilson's score interval for a pass rate: unlike the normal approximation it stays inside
[0, 1] and is honest at 0/n and n/n, which small evaluation runs hit all the time."""

from __future__ import annotations

import math

Z_95 = 1.959963984540054  # the two-sided 95% quantile of the standard normal


def wilson_interval(passed: int, runs: int, z: float = Z_95) -> tuple[float, float]:
    """The 95% interval of the rate `passed / runs`; (0, 1) when nothing ran."""
    if runs <= 0:
        return 0.0, 1.0
    rate = passed / runs
    z2 = z * z
    denominator = 1 + z2 / runs
    centre = (rate + z2 / (2 * runs)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / runs + z2 / (4 * runs * runs)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)
