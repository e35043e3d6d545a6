"""Configuration layers: defaults, then instance/config.py, then EVENTAPP_* variables; test apps sealed."""

import pytest

from eventapp import create_app


def test_defaults_apply_without_instance_file(tmp_path, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["BABEL_DEFAULT_LOCALE"] == "fr"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


def test_instance_file_overrides_defaults_and_environment_overrides_both(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(
        'SECRET_KEY = "from-instance"\nSITE_URL = "https://instance.example"\n'
        'MAIL_SERVER = "smtp.instance.example"\n'
    )
    monkeypatch.setenv("EVENTAPP_SITE_URL", "https://env.example")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SECRET_KEY"] == "from-instance"
    assert app.config["MAIL_SERVER"] == "smtp.instance.example"
    assert app.config["SITE_URL"] == "https://env.example"


def test_environment_values_are_parsed_as_json_when_they_can_be(tmp_path, monkeypatch):
    monkeypatch.setenv("EVENTAPP_SECRET_KEY", "from-env")
    monkeypatch.setenv("EVENTAPP_LANGUAGES", '["fr"]')
    app = create_app(instance_path=str(tmp_path))
    assert app.config["LANGUAGES"] == ["fr"]


def test_test_config_replaces_the_instance_file(tmp_path):
    (tmp_path / "config.py").write_text('SITE_URL = "https://instance.example"\n')
    app = create_app({"TESTING": True}, instance_path=str(tmp_path))
    assert app.config["SITE_URL"] != "https://instance.example"


def test_a_test_app_ignores_the_instance_file_and_the_environment(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text('MAIL_SERVER = "smtp.instance.example"\n')
    monkeypatch.setenv("EVENTAPP_MAIL_SERVER", "somewhere.example")
    monkeypatch.setenv("EVENTAPP_SITE_URL", "https://env.example")
    # An unreachable rate-limit store used to break create_app under test.
    monkeypatch.setenv("EVENTAPP_RATELIMIT_STORAGE_URI", "redis://x")
    app = create_app({"TESTING": True, "SECRET_KEY": "t"}, instance_path=str(tmp_path))
    assert app.config["MAIL_SERVER"] not in ("smtp.instance.example", "somewhere.example")
    assert app.config["SITE_URL"] != "https://env.example"
    assert app.config["RATELIMIT_STORAGE_URI"] != "redis://x"


def test_production_refuses_the_default_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(instance_path=str(tmp_path))


def test_production_starts_with_a_real_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.setenv("EVENTAPP_SECRET_KEY", "a" * 64)
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SECRET_KEY"] == "a" * 64
