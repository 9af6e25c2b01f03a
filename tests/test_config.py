from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import SETTINGS, Settings, example_env, load_settings, readme_with_table, settings_table
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_config_example_env_lists_every_setting_with_its_default():
    shipped = (ROOT / "config.example.env").read_text(encoding="utf-8")
    assert shipped == example_env(), "config.example.env drifted: regenerate it with `make config-example`"
    pairs = dict(re.findall(r"^([A-Z_0-9]+)=(.*)$", shipped, flags=re.M))
    assert pairs == {s.name: s.default for s in SETTINGS}


def test_readme_settings_table_is_the_registrys_whole_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme
    assert readme_with_table(readme) == readme, "the README's settings table drifted: `make config-example`"
    assert readme.count("| `") >= len(SETTINGS)


def test_settings_are_typed_and_frozen():
    settings = load_settings(environ={"SMTP_PORT": "2525", "ALERT_EMAIL_TO": "a@example.com,b@example.com"})
    assert isinstance(settings, Settings)
    assert settings.smtp_port == 2525 and settings.alert_email_to == ("a@example.com", "b@example.com")
    with pytest.raises(AttributeError):
        settings.smtp_port = 25  # type: ignore[misc]
    assert Settings() == load_settings(environ={})  # the dataclass defaults are the registry's


def test_help_imports_neither_pandas_nor_sqlalchemy():
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "monitor", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0 and "Usage:" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert "pandas" not in imported and "sqlalchemy" not in imported and "numpy" not in imported


def test_defaults_follow_the_cli_contract():
    settings = load_settings(environ={})
    assert settings.database_url == "sqlite:///data/account_health.db"
    assert settings.limit_odr == 0.01 and settings.limit_lsr == 0.04 and settings.limit_cr == 0.025
    assert settings.limit_vtr == 0.95 and settings.limit_otdr == 0.90
    assert settings.warn_ratio == 0.75 and settings.forecast_days == 7 and settings.alert_repeat_hours == 24
    assert settings.smtp_port == 587 and settings.smtp_security == "starttls"
    assert settings.import_interval_minutes == 5 and settings.alert_email_to == ()


def test_real_environment_wins_over_env_file(tmp_path):
    env_file = tmp_path / "settings.env"
    env_file.write_text("WARN_RATIO=0.5\nDEFAULT_ACCOUNT=from-file\n")
    settings = load_settings(env_file, environ={"DEFAULT_ACCOUNT": "from-env"})
    assert settings.warn_ratio == 0.5
    assert settings.default_account == "from-env"


def test_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "password"
    secret.write_text("s3cret\n")
    settings = load_settings(environ={"SMTP_PASSWORD_FILE": str(secret)})
    assert settings.smtp_password == "s3cret"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("WARN_RATIO", "1.5", "WARN_RATIO: must be between 0 and 1"),
        ("SMTP_PORT", "http", "SMTP_PORT: expected a whole number"),
        ("SMTP_SECURITY", "tls", "SMTP_SECURITY: must be one of starttls, ssl, none"),
        ("ALERT_EMAIL_TO", "ops@example.com, nobody", "ALERT_EMAIL_TO: 'nobody' is not an e-mail address"),
        ("DATABASE_URL", "not a url", "DATABASE_URL: is not a SQLAlchemy database URL"),
        ("SLACK_WEBHOOK_URL", "ftp://x", "SLACK_WEBHOOK_URL: must be an http(s) URL"),
    ],
)
def test_a_bad_value_names_the_setting_and_the_problem(name, value, message):
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={name: value})
    assert str(caught.value).startswith(message)


def test_bad_setting_exits_2_with_one_line_and_no_traceback(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "WARN_RATIO": "lots", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "init"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: WARN_RATIO: expected a number between 0 and 1, got 'lots'"]
