# Sourced by the other scripts: makes sure uv and the locked virtual environment exist.
# Everything the project needs is installed from here, so a fresh machine needs nothing by hand.
set -euo pipefail
UV_VERSION=0.13.9
export UV_PYTHON_DOWNLOADS=never
if ! command -v uv >/dev/null 2>&1 || [ "$(uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
# Bytecode is compiled once, here: otherwise every process (the CLI, each template's sandbox zygote,
# every test's subprocess) compiles each module it imports from source when it starts, and never
# caches it where PYTHONDONTWRITEBYTECODE is set (as on our CI machines): 0.5 s of a cold
# `analyst exec` went to compiling. Our own package is an editable install, outside site-packages.
uv sync --locked --quiet --compile-bytecode
uv run --no-sync python -m compileall -q -j 0 src >/dev/null
