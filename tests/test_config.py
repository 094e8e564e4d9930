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
