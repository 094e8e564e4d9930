"""`create_provider`: the backend `sandbox.backend` names, or an error that names it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sandbox_analyst.config import SandboxSettings
from sandbox_analyst.sandbox import BACKENDS, BackendUnavailableError, create_provider
from sandbox_analyst.sandbox.local import LocalProvider


def test_the_default_backend_is_the_local_one_and_nothing_starts(tmp_path) -> None:
    provider = create_provider(SandboxSettings(), tmp_path / "sandboxes")
    assert isinstance(provider, LocalProvider)
    assert provider.backend == "local"
    assert not (tmp_path / "sandboxes").exists()


def test_every_configurable_backend_is_registered() -> None:
    assert set(BACKENDS) == set(SandboxSettings.model_fields["backend"].annotation.__args__)


def test_a_backend_not_in_this_installation_is_named(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(BACKENDS, "gateway", "sandbox_analyst.sandbox.not_written:Provider")
    with pytest.raises(BackendUnavailableError, match="'gateway' sandbox backend is not part"):
        create_provider(SandboxSettings(backend="gateway"), tmp_path)


def test_a_backend_missing_a_dependency_names_the_package(monkeypatch, tmp_path) -> None:
    (tmp_path / "needs_sdk.py").write_text("import an_sdk_nobody_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(BACKENDS, "e2b", "needs_sdk:Provider")
    with pytest.raises(BackendUnavailableError, match=r"'e2b'.*'an_sdk_nobody_installed'"):
        create_provider(SandboxSettings(backend="e2b"), tmp_path)
    sys.modules.pop("needs_sdk", None)


def test_an_unknown_backend_name_is_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="backend"):
        SandboxSettings(backend="docker")


def test_the_local_backend_imports_no_template_builder_until_a_template_is_asked_for(
    tmp_path,
) -> None:
    # A session of the default template (`analyst exec`) needs neither uv's runner, the
    # package installer nor their HTTP client: a tenth of a second of every cold start.
    probe = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from sandbox_analyst.config import SandboxSettings\n"
        "from sandbox_analyst.sandbox import create_provider\n"
        f"create_provider(SandboxSettings(), Path({str(tmp_path)!r}))\n"
        "heavy = ('httpx', 'sandbox_analyst.sandbox.templates.builder',"
        " 'sandbox_analyst.sandbox.templates.installs')\n"
        "print(json.dumps([name for name in heavy if name in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
