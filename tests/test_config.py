"""Settings precedence: defaults < analyst.yaml < environment."""

from pathlib import Path

import pytest

from sandbox_analyst.config import ConfigError, load_settings


def test_defaults_put_everything_under_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.data_dir == tmp_path / "sandbox-analyst"
    assert settings.effective_database_url.endswith("sandbox-analyst/analyst.db")


def test_environment_wins_over_the_yaml_file(monkeypatch, tmp_path):
    config = tmp_path / "analyst.yaml"
    config.write_text("sandbox:\n  pool_size: 5\n  timeout: 7\nlog_level: DEBUG\n")
    monkeypatch.setenv("ANALYST_SANDBOX__POOL_SIZE", "3")
    settings = load_settings(config)
    assert settings.sandbox.pool_size == 3
    assert settings.sandbox.timeout == 7
    assert settings.log_level == "DEBUG"


def test_a_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml")


def test_secrets_are_masked(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANALYST_LLM__API_KEY", "sk-secret-value")
    dumped = load_settings().masked()
    assert "sk-secret-value" not in str(dumped)


def test_memory_limit_has_a_floor(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANALYST_SANDBOX__MEMORY_LIMIT_MB", "100")
    with pytest.raises(ValueError, match="memory_limit_mb"):
        load_settings()


def test_yaml_must_be_a_mapping(monkeypatch, tmp_path):
    (tmp_path / "analyst.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(Path(tmp_path / "analyst.yaml"))


def test_s3_blob_storage_is_set_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANALYST_STORAGE__BLOBS", "s3")
    monkeypatch.setenv("ANALYST_STORAGE__S3__BUCKET", "analyst-files")
    monkeypatch.setenv("ANALYST_STORAGE__S3__PREFIX", "/prod/")
    monkeypatch.setenv("ANALYST_STORAGE__S3__ENDPOINT_URL", "http://127.0.0.1:9000/")
    monkeypatch.setenv("ANALYST_STORAGE__S3__ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("ANALYST_STORAGE__S3__SECRET_ACCESS_KEY", "s3-secret-value")
    settings = load_settings()
    s3 = settings.storage.s3
    assert (settings.storage.blobs, s3.bucket, s3.prefix) == ("s3", "analyst-files", "prod/")
    assert s3.endpoint_url == "http://127.0.0.1:9000"
    assert s3.secret_access_key.get_secret_value() == "s3-secret-value"
    assert "s3-secret-value" not in str(settings.masked())


def test_blobs_are_local_unless_told_otherwise(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert load_settings().storage.blobs == "local"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ANALYST_STORAGE__BLOBS": "s3"}, "storage.s3.bucket is not set"),
        (
            {"ANALYST_STORAGE__S3__ACCESS_KEY_ID": "AKIAEXAMPLE"},
            "access_key_id and storage.s3.secret_access_key go together",
        ),
        ({"ANALYST_STORAGE__S3__ENDPOINT_URL": "127.0.0.1:9000"}, "must start with http"),
    ],
)
def test_unusable_s3_settings_are_refused(monkeypatch, tmp_path, env, message):
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        load_settings()


def test_egress_is_off_by_default_and_the_services_ports_are_always_denied(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANALYST_SERVER__PORT", "8100")
    monkeypatch.setenv("ANALYST_SERVER__E2B_PORT", "49999")
    settings = load_settings()
    assert settings.sandbox.egress.allow == []
    assert settings.sandbox.egress.service_ports == [8100, 49999]


def test_the_egress_allow_list_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANALYST_SANDBOX__EGRESS__ALLOW", '["127.0.0.1:8123", "*.example.com:443"]')
    settings = load_settings()
    assert settings.sandbox.egress.allow == ["127.0.0.1:8123", "*.example.com:443"]
    assert settings.sandbox.egress.service_ports == [8000]
