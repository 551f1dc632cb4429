import json

import pytest
from pydantic import ValidationError

from kefu_core.settings import Settings
from tests.helpers import kefu_env


def test_development_generates_and_keeps_secrets(tmp_path) -> None:
    with kefu_env(
        KEFU_VAR_DIR=str(tmp_path), KEFU_ENV="development", KEFU_SECRET_KEY="", KEFU_SERVICE_TOKEN=""
    ):
        first = Settings()
        second = Settings()
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    assert first.service_token != first.secret_key
    assert (tmp_path / "secrets.json").stat().st_mode & 0o077 == 0


def test_processes_starting_together_share_one_secret(tmp_path) -> None:
    # Several workers of a fresh development install read or create var/secrets.json at the same time.
    from concurrent.futures import ThreadPoolExecutor

    from kefu_core.settings import _dev_secret

    names = [f"secret_{i % 8}" for i in range(256)]
    with kefu_env(KEFU_VAR_DIR=str(tmp_path)), ThreadPoolExecutor(8) as pool:
        values = list(pool.map(_dev_secret, names))
    given: dict[str, set[str]] = {}
    for name, value in zip(names, values, strict=True):
        given.setdefault(name, set()).add(value)
    assert all(len(v) == 1 for v in given.values()), "a secret changed while others were being created"
    stored = json.loads((tmp_path / "secrets.json").read_text())
    assert stored == {name: next(iter(v)) for name, v in given.items()}


def test_production_refuses_placeholder_secrets(tmp_path) -> None:
    with (
        kefu_env(KEFU_VAR_DIR=str(tmp_path), KEFU_ENV="production", KEFU_SECRET_KEY="change-me"),
        pytest.raises(ValidationError, match="KEFU_SECRET_KEY"),
    ):
        Settings()


def _production_secrets(tmp_path) -> dict[str, str]:
    """What KEFU_ENV=production insists on, set to real-looking values."""
    return {
        "KEFU_VAR_DIR": str(tmp_path),
        "KEFU_SECRET_KEY": "x" * 40,
        "KEFU_SERVICE_TOKEN": "y" * 40,
        "RASA_TOKEN": "z" * 40,
        "KEFU_METRICS_TOKEN": "m" * 40,
        "KEFU_ENCRYPTION_KEY": "Y3J5cHRvZ3JhcGh5LWZlcm5ldC1rZXktMzItYnl0ZXM=",  # 32 bytes, url-safe base64
    }


def test_docs_are_private_in_production(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from crm_bridge.app import create_app

    env = _production_secrets(tmp_path)
    with kefu_env(KEFU_ENV="production", **env):
        production = TestClient(create_app())
        assert production.get("/openapi.json").status_code == 404
        assert production.get("/docs").status_code == 404
        assert production.get("/livez").json() == {"status": "ok"}
    with kefu_env(KEFU_ENV="production", KEFU_PUBLIC_DOCS="true", **env):
        assert TestClient(create_app()).get("/openapi.json").status_code == 200


def test_default_database_is_sqlite_under_var(tmp_path) -> None:
    with kefu_env(KEFU_VAR_DIR=str(tmp_path), DATABASE_URL=""):
        settings = Settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'kefu.db'}"
    assert settings.is_sqlite


def test_escalation_and_widget_timings_are_settings(tmp_path) -> None:
    with kefu_env(
        KEFU_VAR_DIR=str(tmp_path),
        KEFU_CHAT_FIRST_RESPONSE_SECONDS="300",
        KEFU_AGENT_AWAY_SECONDS="45",
        KEFU_WIDGET_SESSIONS_PER_MINUTE="5",
    ):
        settings = Settings()
    assert (settings.chat_first_response_seconds, settings.agent_away_seconds) == (300, 45)
    assert settings.widget_sessions_per_minute == 5
    with kefu_env(KEFU_VAR_DIR=str(tmp_path), KEFU_AGENT_AWAY_SECONDS="2"), pytest.raises(ValidationError):
        Settings()


def test_chinese_embedding_model_falls_back_and_is_checked_at_start(tmp_path) -> None:
    with kefu_env(
        KEFU_VAR_DIR=str(tmp_path), KEFU_EMBEDDING_MODEL_ZH="", KEFU_EMBEDDING_MODEL="/models/mini"
    ):
        unset = Settings()
    assert unset.embedding_model_zh == "" and unset.language_embedding_models == {}
    assert unset.embedding_model == "/models/mini"  # KEFU_EMBEDDING_MODEL is read as before, unchecked

    model = tmp_path / "zh-model"
    model.mkdir()
    (model / "modules.json").write_text(json.dumps([{"idx": 0, "name": "0", "path": "", "type": "x"}]))
    with kefu_env(KEFU_VAR_DIR=str(tmp_path), KEFU_EMBEDDING_MODEL_ZH=f" {model} "):
        given = Settings()
    assert given.embedding_model_zh == str(model)
    assert given.language_embedding_models == {"zh": str(model)}

    (tmp_path / "plain").mkdir()
    (tmp_path / "empty-modules").mkdir()
    (tmp_path / "empty-modules" / "modules.json").write_text("[]")
    (tmp_path / "a-file").write_text("x")
    for bad, why in [
        (tmp_path / "missing", "no such folder"),
        (tmp_path / "a-file", "not a folder"),
        (tmp_path / "plain", "not a sentence-transformers model folder"),
        (tmp_path / "empty-modules", "lists no modules"),
    ]:
        with (
            kefu_env(KEFU_VAR_DIR=str(tmp_path), KEFU_EMBEDDING_MODEL_ZH=str(bad)),
            pytest.raises(ValidationError, match=f"KEFU_EMBEDDING_MODEL_ZH=.*{why}"),
        ):
            Settings()


def test_production_needs_a_rasa_token(tmp_path) -> None:
    env = {k: v for k, v in _production_secrets(tmp_path).items() if k != "RASA_TOKEN"}
    with kefu_env(KEFU_ENV="production", RASA_TOKEN="", **env), pytest.raises(ValueError, match="RASA_TOKEN"):
        Settings()
    with kefu_env(KEFU_ENV="production", RASA_TOKEN="z" * 40, **env):
        assert Settings().rasa_token == "z" * 40


def test_every_response_carries_hsts_and_a_csp_in_production(tmp_path) -> None:
    # Issue 22 (low): HSTS was never sent and only the admin pages had a CSP.
    from fastapi.testclient import TestClient

    from crm_bridge.app import create_app
    from crm_bridge.pages.guard import SECURITY_HEADERS

    env = _production_secrets(tmp_path)
    with kefu_env(KEFU_ENV="production", **env):
        production = TestClient(create_app())
        for path in ("/livez", "/demo", "/widget.js", "/api/v1/kb/faqs", "/admin/login"):
            response = production.get(path)
            assert response.headers["strict-transport-security"].startswith("max-age="), path
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
        assert "default-src 'none'" in production.get("/livez").headers["content-security-policy"]
        assert "script-src 'self'" in production.get("/demo").headers["content-security-policy"]
        # The admin pages keep their own, stricter policy (no inline style), not a second one.
        login = production.get("/admin/login")
        assert login.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
        assert login.headers.get_list("content-security-policy") == [
            SECURITY_HEADERS["Content-Security-Policy"]
        ]
    development = TestClient(create_app())
    assert "strict-transport-security" not in development.get("/livez").headers


def test_crm_bridge_outwaits_rasas_wait_for_the_action_server(tmp_path) -> None:
    with kefu_env(KEFU_VAR_DIR=str(tmp_path), KEFU_RASA_TIMEOUT="15", KEFU_ACTION_TIMEOUT="10"):
        assert (Settings().rasa_timeout_s, Settings().action_timeout_s) == (15.0, 10.0)
    with (
        kefu_env(KEFU_VAR_DIR=str(tmp_path), KEFU_RASA_TIMEOUT="10", KEFU_ACTION_TIMEOUT="10"),
        pytest.raises(ValidationError, match=r"KEFU_RASA_TIMEOUT .* must be at least KEFU_ACTION_TIMEOUT"),
    ):
        Settings()
