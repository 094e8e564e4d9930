"""Plotly figures come back as their JSON MIME bundle (`application/vnd.plotly.v1+json`, which
lands in `Result.extra`) with a one-line text view, from `fig.show()`, `display(fig)` or a
figure as the cell's last value, exactly once.

Plotly's own default in an IPython shell that is not a Jupyter kernel is a notebook renderer
needing `nbformat` (and inline plotly.js HTML); a static image needs kaleido and Chrome, which
cannot start inside the sandbox (the address-space limit alone kills it). So a renderer of our
own is made the default, as soon as `plotly.io` is imported (or at once, if the zygote
preloaded it), without importing plotly where nobody uses it, nor nbformat.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import json
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

PLOTLY_MIME = "application/vnd.plotly.v1+json"
_RENDERER = "sandbox"


def install() -> None:
    """Make the sandbox renderer plotly's default, now or when plotly.io is first imported."""
    module = sys.modules.get("plotly.io")
    if module is not None:
        _configure(module)
    elif not any(isinstance(finder, _AfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport("plotly.io", _configure))


def figure_bundle(figure: dict[str, Any]) -> dict[str, Any]:
    import plotly.io as pio

    data = json.loads(pio.to_json(figure, validate=False))
    traces = [trace.get("type", "scatter") for trace in data.get("data", [])]
    title = data.get("layout", {}).get("title", {})
    title_text = title.get("text") if isinstance(title, dict) else title
    summary = f"Plotly figure: {len(traces)} trace(s)"
    if traces:
        summary += f" ({', '.join(dict.fromkeys(traces))})"
    if title_text:
        summary += f", title {title_text!r}"
    return {PLOTLY_MIME: data, "text/plain": summary}


def _configure(pio: ModuleType) -> None:
    with _nbformat_unimportable():
        renderers = pio.renderers  # imports plotly.io._renderers
    from plotly.io.base_renderers import ExternalRenderer

    class SandboxRenderer(ExternalRenderer):
        """Publishes the figure through IPython's display (our channel), as plain data."""

        def render(self, fig_dict: dict[str, Any]) -> None:
            from IPython.display import display

            display(figure_bundle(fig_dict), raw=True)

    renderers[_RENDERER] = SandboxRenderer()
    renderers.default = _RENDERER


@contextlib.contextmanager
def _nbformat_unimportable() -> Iterator[None]:
    # plotly's renderers import nbformat, if they can, only for the notebook renderers that
    # ours replaces; nbformat imports jsonschema, whose format checkers (rfc3987-syntax builds a
    # grammar) took 1.2 s of every zygote's start. A None in sys.modules makes that one import
    # fail; code that imports nbformat itself later still gets it.
    if "nbformat" in sys.modules:
        yield
        return
    sys.modules["nbformat"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if "nbformat" in sys.modules and sys.modules["nbformat"] is None:
            del sys.modules["nbformat"]


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls `callback(module)` right after `name` is first imported, then gets out of the way."""

    def __init__(self, name: str, callback: Any) -> None:
        self.name = name
        self.callback = callback

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        callback = self.callback

        class Loader(importlib.abc.Loader):
            def create_module(self, spec: Any) -> Any:
                return loader.create_module(spec)

            def exec_module(self, module: ModuleType) -> None:
                loader.exec_module(module)
                callback(module)

            def __getattr__(self, name: str) -> Any:  # resource readers and the like
                return getattr(loader, name)

        spec.loader = Loader()
        return spec
