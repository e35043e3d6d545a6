"""Language choice, error pages and every public page in both languages."""

import pytest
from werkzeug.exceptions import InternalServerError

from eventapp.demo import LAUNCH_SLUG, load_demo
from eventapp.extensions import db

PUBLIC_PAGES = ["/", "/speakers", f"/events/{LAUNCH_SLUG}"]


@pytest.fixture
def demo(app):
    load_demo()
    db.session.commit()


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_every_public_page_renders_in_french_and_in_english(client, demo, url):
    french = client.get(url)
    english = client.get(url, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert french.status_code == english.status_code == 200
    assert '<html lang="fr">' in french.get_data(as_text=True)
    assert "Aller au contenu" in french.get_data(as_text=True)
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "Skip to content" in english.get_data(as_text=True)


def test_french_is_the_default_for_unknown_languages(client, demo):
    html = client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="fr">' in html


def test_the_language_switch_is_remembered_over_the_browser_language(client, demo):
    response = client.get("/lang/en?next=/speakers")
    assert response.status_code == 303
    assert response.headers["Location"] == "/speakers"
    html = client.get("/speakers", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert '<html lang="en">' in html


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"]
)
def test_the_language_switch_never_redirects_off_site(client, target):
    response = client.get("/lang/fr", query_string={"next": target})
    assert response.headers["Location"] == "/"


def test_an_unknown_language_is_not_found(client):
    assert client.get("/lang/xx").status_code == 404


def test_a_crash_shows_the_500_page_in_the_layout(app, client, demo):
    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    app.testing = False  # let the error handler answer instead of re-raising
    response = client.get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Erreur du serveur" in html
    assert "RTES" in html


def test_http_errors_use_the_site_layout(app, client):
    @app.get("/forbidden")
    def forbidden():
        raise InternalServerError()

    response = client.get("/forbidden", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert "Server error" in response.get_data(as_text=True)


def test_the_health_check_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_trusted_proxies_give_the_client_address_to_rate_limits(tmp_path):
    from flask import request

    from eventapp import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "TRUSTED_PROXIES": 1,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}",
        },
        instance_path=str(tmp_path),
    )

    @app.get("/whoami")
    def whoami():
        return request.remote_addr or ""

    seen = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.7"})
    assert seen.get_data(as_text=True) == "203.0.113.7"
    untrusted = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}",
        },
        instance_path=str(tmp_path),
    )
    untrusted.add_url_rule("/whoami", view_func=whoami)
    seen = untrusted.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.7"})
    assert seen.get_data(as_text=True) != "203.0.113.7"
