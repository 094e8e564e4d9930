"""`analyst templates build|list|show|rm` against a package index on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.config import Settings
from sandbox_analyst.service import AssistantCreate, Principal, Services
from sandbox_analyst.testing.package_index import LocalPackageIndex

PROBE = """\
description: Probe analysis
packages: [analyst-probe==1.0]
preload: [analyst_probe]
"""


@pytest.fixture(scope="module")
def index_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    index = LocalPackageIndex(tmp_path_factory.mktemp("index"))
    index.add_wheel("analyst-probe", "1.0", {"analyst_probe/__init__.py": "VALUE = 1\n"})
    with index.serving() as url:
        yield url


@pytest.fixture
def data_dir(tmp_path: Path, index_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("ANALYST_DATA_DIR", str(data_dir))
    monkeypatch.setenv("ANALYST_SANDBOX__PACKAGE_INDEX", index_url)
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    return data_dir


@pytest.fixture
def run(data_dir: Path) -> Callable[..., Result]:
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, ["templates", *args], env={"COLUMNS": "200"})

    return invoke


def test_list_shows_the_default_template_in_a_fresh_data_dir(data_dir: Path) -> None:
    analyst = Path(sys.executable).parent / "analyst"
    result = subprocess.run(
        [str(analyst), "templates", "list"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if "default" in line]
    assert "built-in" in row


def test_build_list_show_and_remove_a_template(run: Callable[..., Result], data_dir: Path) -> None:
    spec = data_dir / "templates" / "probe.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text(PROBE)

    built = run("build")
    assert built.exit_code == 0, built.output
    assert "probe: built in" in built.output
    assert "1 package(s) added" in built.output
    again = run("build", "probe")
    assert again.exit_code == 0
    assert "probe: up to date" in again.output

    listed = run("list")
    [row] = [line for line in listed.output.splitlines() if "probe" in line]
    assert "built" in row
    assert "Probe analysis" in row

    shown = run("show", "probe")
    assert shown.exit_code == 0
    assert "packages: [analyst-probe==1.0]" in shown.output
    assert "analyst-probe==1.0" in shown.output
    assert "--hash=sha256:" in shown.output
    assert str(data_dir / "templates" / "probe" / "builds") in shown.output

    refused = run("rm", "default")
    assert refused.exit_code == 1
    assert "built in" in refused.output
    removed = run("rm", "probe")
    assert removed.exit_code == 0, removed.output
    assert "removed 1 build(s)" in removed.output
    assert not spec.exists()
    assert "probe" not in run("list").output


def test_a_bad_template_file_fails_the_build_naming_its_line(
    run: Callable[..., Result], data_dir: Path
) -> None:
    spec = data_dir / "templates" / "broken.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text("description: x\nlimits:\n  memory_mb: 10\n")
    result = run("build")
    assert result.exit_code == 1
    assert f"{spec}:3" in result.output.replace("\n", "")
    assert "limits.memory_mb" in result.output
    assert "invalid" in run("list").output


def test_unknown_templates_are_named(run: Callable[..., Result]) -> None:
    for args in (("show", "nope"), ("build", "nope"), ("rm", "nope")):
        result = run(*args)
        assert result.exit_code == 1
        assert "no template named 'nope'" in result.output


def test_a_template_that_assistants_name_is_removed_only_with_force(
    run: Callable[..., Result], data_dir: Path
) -> None:
    spec = data_dir / "templates" / "probe.yaml"
    spec.parent.mkdir(parents=True)
    spec.write_text(PROBE)
    assert run("build").exit_code == 0

    async def name_it() -> None:
        async with Services.running(Settings(data_dir=data_dir)) as services:
            user = await services.users.create_user("ann")
            principal = Principal(user_id=user.id, name=user.name)
            await services.assistants.create(
                principal, AssistantCreate(name="Prober", template="probe")
            )

    asyncio.run(name_it())
    refused = run("rm", "probe")
    assert refused.exit_code == 1
    assert "template 'probe' is used by Prober" in refused.output
    assert spec.exists()
    assert run("rm", "probe", "--force").exit_code == 0
    assert not spec.exists()
