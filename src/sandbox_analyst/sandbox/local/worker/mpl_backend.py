"""A matplotlib backend for workers: Agg rendering, and `plt.show()` emits the open figures
as display results instead of warning that Agg is non-interactive.

Selected with `MPLBACKEND=module://sandbox_analyst.sandbox.local.worker.mpl_backend`.
"""

from __future__ import annotations

from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

from sandbox_analyst.sandbox.local.worker import figures

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase


def show(*args: object, **kwargs: object) -> None:
    if figures.current is not None:
        figures.current.show()
