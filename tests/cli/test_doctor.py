"""`analyst doctor`'s blob storage line: where blobs go and a probe blob's round trip, or what
is wrong with the store, in one line that names the setting.

The sandbox half of the report is not the subject here (but for the languages its live check
lists): a gateway backend without a URL is reported unusable at once (and makes the exit
status 1 whatever the blob storage says)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandbox_analyst.cli import app
from sandbox_analyst.testing.s3_server import LocalS3Server
from tests.cli.test_serve import s3_environment


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANALYST_SANDBOX__BACKEND", "gateway")
    monkeypatch.chdir(tmp_path)  # no analyst.yaml from the developer's directory


def doctor_says() -> str:
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def test_the_local_directory_is_checked_with_a_round_trip(
    environment: None, tmp_path: Path
) -> None:
    said = doctor_says()
    assert f"blob storage: local directory {tmp_path / 'data' / 'blobs'}: write, read and " in said
    assert [p for p in (tmp_path / "data" / "blobs").rglob("*") if p.is_file()] == []


def test_a_bucket_is_checked_with_a_round_trip(
    environment: None, monkeypatch: pytest.MonkeyPatch, s3_server: LocalS3Server
) -> None:
    bucket = s3_server.create_bucket()
    s3_environment(monkeypatch, s3_server, bucket)
    said = doctor_says()
    assert f"blob storage: S3 bucket {bucket!r} at {s3_server.endpoint_url}: write, read" in said
    assert s3_server.object_keys(bucket) == []


def test_refused_credentials_are_one_clear_line(
    environment: None, monkeypatch: pytest.MonkeyPatch, s3_server: LocalS3Server
) -> None:
    s3_environment(monkeypatch, s3_server, s3_server.create_bucket())
    monkeypatch.setenv("ANALYST_STORAGE__S3__SECRET_ACCESS_KEY", "wrong")
    said = doctor_says()
    assert (
        f"blob storage: the S3 endpoint {s3_server.endpoint_url} refused the credentials "
        "(SignatureDoesNotMatch"
    ) in said
    assert "set storage.s3.access_key_id and storage.s3.secret_access_key" in said


def test_the_egress_policy_in_force_is_shown(
    environment: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert "egress: none (sandbox.egress.allow is empty: sandboxes have no network)" in (
        doctor_says()
    )
    monkeypatch.setenv("ANALYST_SANDBOX__EGRESS__ALLOW", '["127.0.0.1:8123", "*.example.com:443"]')
    templates = tmp_path / "data" / "templates"
    templates.mkdir(parents=True)
    (templates / "web.yaml").write_text("egress:\n  allow: ['127.0.0.1:8123']\n")
    (templates / "sealed.yaml").write_text("egress:\n  allow: []\n")
    (templates / "plain.yaml").write_text("description: no egress section\n")
    said = doctor_says()
    assert "egress allow-list (sandbox.egress.allow): 127.0.0.1:8123, *.example.com:443" in said
    assert "the service's own ports (8000)" in said
    assert "template web narrows it to: 127.0.0.1:8123" in said
    assert "template sealed narrows it to: none (no network)" in said
    assert "template plain" not in said
    assert "not enforced by the gateway backend" in said


def test_an_invalid_egress_entry_fails_the_doctor_naming_it(
    environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYST_SANDBOX__EGRESS__ALLOW", '["example.com"]')
    said = doctor_says()
    assert "egress policy (sandbox.egress.allow) invalid:" in said
    assert "egress entry 'example.com': a port is required (host:port)" in said


def test_the_live_check_lists_the_languages_a_session_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANALYST_SANDBOX__POOL_SIZE", "0")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["doctor"])
    said = " ".join(result.output.split())
    expected = "python, bash, sql, r" if shutil.which("Rscript") else "python, bash, sql (no R:"
    assert f"languages: {expected}" in said, said


def test_the_kinds_of_database_connections_are_listed_with_their_drivers(
    environment: None,
) -> None:
    said = doctor_says()
    assert "database connections: PostgreSQL (psycopg 3." in said
    assert "MySQL/MariaDB (PyMySQL 1." in said
    assert "SQLite (Python's sqlite3, SQLite 3." in said
    assert "DuckDB (duckdb " in said
