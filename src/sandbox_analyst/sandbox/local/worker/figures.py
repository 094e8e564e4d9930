"""Matplotlib figures: captured automatically as PNG, each exactly once, then closed.

A figure is emitted when the user calls `plt.show()`, when it is displayed (`display(fig)` or
as the cell's last value), or at the end of the cell if still open. Figures already displayed
in the cell are remembered so that none appears twice.
"""

from __future__ import annotations

import io
import weakref
from typing import Any

from IPython.core.interactiveshell import InteractiveShell


class FigureCapture:
    def __init__(self, shell: InteractiveShell, dpi: int) -> None:
        self._shell = shell
        self._dpi = dpi
        # Weak: a figure closed and freed leaves it, so a new figure that gets the same
        # address (and id()) later in the cell is not taken for one already shown.
        self._shown: weakref.WeakSet[Any] = weakref.WeakSet()
        self._plt: Any = None

    def install(self) -> None:
        """Register the PNG formatter for matplotlib figures. By name: a worker forked before
        the zygote preloaded matplotlib (or with no preload) imports it only if its code does."""
        png = self._shell.display_formatter.formatters["image/png"]
        png.for_type_by_name("matplotlib.figure", "Figure", self._figure_to_png)

    def _figure_to_png(self, figure: Any) -> bytes | None:
        if not figure.axes and not figure.texts and not figure.images:
            return None  # an empty figure renders as a blank image: show only its text
        self._shown.add(figure)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=self._dpi, bbox_inches="tight")
        return buffer.getvalue()

    def show(self) -> None:
        """Display every open figure not yet shown, then close them all (`plt.show()`)."""
        plt = self._pyplot()
        if plt is None:
            return
        from IPython.display import display

        for number in plt.get_fignums():
            figure = plt.figure(number)
            if figure not in self._shown:
                display(figure)
        plt.close("all")

    def end_of_cell(self) -> None:
        try:
            self.show()
        finally:
            self._shown.clear()

    def _pyplot(self) -> Any:
        # Only touch pyplot if the user's code (or the preload) imported it.
        import sys

        return sys.modules.get("matplotlib.pyplot")


# The figure capture of this worker process; set by the worker at start-up so that the
# matplotlib backend's `show()` can reach it.
current: FigureCapture | None = None
