# Sourced by the other scripts: makes sure uv and the locked virtual environment exist.
# Everything the project needs is installed from here, so a fresh machine needs nothing by hand.
set -euo pipefail
UV_VERSION=0.13.9
export UV_PYTHON_DOWNLOADS=never
if ! command -v uv >/dev/null 2>&1 || [ "$(uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
uv sync --locked --quiet
