"""How charts are named: `figure-1.png`, `figure-2.svg`... numbered across a conversation.

The one place that knows the pattern both ways: it reads the names a conversation's earlier
turns stored (from the `ArtifactSink`) and hands out the next ones, so a later turn's first
chart is `figure-3.png`, not a second `figure-1.png`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg"}
_FIGURE_NAME = re.compile(r"figure-(\d+)\.(?:png|jpg|svg)")


def last_figure_number(names: Iterable[str]) -> int:
    """The highest N among names like `figure-N.png` (0 when there is none)."""
    numbers = (int(m.group(1)) for n in names if (m := _FIGURE_NAME.fullmatch(n)))
    return max(numbers, default=0)


@dataclass
class FigureNamer:
    """Hands out figure names numbered on from `count`, the last number used."""

    count: int = 0

    @classmethod
    def after(cls, names: Iterable[str]) -> FigureNamer:
        """Numbering that goes on from the figures among `names` (the ones stored so far)."""
        return cls(last_figure_number(names))

    def next_name(self, media_type: str) -> str:
        self.count += 1
        return f"figure-{self.count}.{_EXTENSIONS[media_type]}"
