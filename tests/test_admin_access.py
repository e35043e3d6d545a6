"""Who may enter the back office: sign-in, roles, throttling, sessions, CSRF, the CLI."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.routing import IntegerConverter

from eventapp import config as default_config
from eventapp.auth.models import LoginSession, User, UserRole
from eventapp.auth.services import check_password, find_user
from eventapp.auth.views import _account_failures, slowdown_seconds
from eventapp.extensions import db
from eventapp.models import now_utc
from tests.admin_helpers import (  # noqa: F401 - cheap_hashing is an autouse fixture
    PASSWORD,
    Poster,
    audit_actions,
    cheap_hashing,
    count,
    csrf_from,
    login,
    make_user,
)
from tests.helpers import text

ACCOUNT_RULES = ("/admin/accounts", "/admin/audit")
# The sign-in pages themselves are the only /admin rules open to anonymous visitors.
OPEN_ENDPOINTS = {"auth.login"}
# The /admin rules that take something other than an id, with a value of the right shape.
TEXT_VALUES = {"name": "1-" + "0" * 32 + ".csv"}  # an attendance report kept for its preview


def admin_urls(app) -> list[tuple[str, str]]:
    """Every /admin rule with a URL built from placeholder ids, and each of its methods."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint in OPEN_ENDPOINTS:
            continue
        values = {}
        for name, converter in rule._converters.items():
            if name in TEXT_VALUES:
                values[name] = TEXT_VALUES[name]
                continue
            assert isinstance(converter, IntegerConverter), f"{rule.rule}: add a value for {name}"
            values[name] = 1
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, path))
    return urls


def test_the_back_office_has_many_pages(app):
    # A guard against this file silently testing nothing.
    assert len(admin_urls(app)) > 60


def test_every_admin_route_sends_anonymous_visitors_to_the_sign_in_page(app, client):
    token = csrf_from(client.get("/admin/login"))  # a valid token: only the login guard answers
    for method, path in admin_urls(app):
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data={"csrf_token": token})
        assert response.status_code == 302, (method, path, response.status_code)
        location = urlsplit(response.headers["Location"])
        assert location.path == "/admin/login", (method, path)
        if method == "GET":
            assert parse_qs(location.query)["next"] == [path], path


def test_an_editor_gets_403_on_accounts_and_the_audit_log(app, client):
    editor = make_user(UserRole.EDITOR)
    assert login(client, editor).status_code == 303
    post = Poster(client)
    checked = 0
    for method, path in admin_urls(app):
        if not path.startswith(ACCOUNT_RULES):
            continue
        response = client.get(path) if method == "GET" else post(path, {"role": "admin"})
        assert response.status_code == 403, (method, path)
        checked += 1
    assert checked >= 6
    db.session.refresh(editor)
    assert editor.role == UserRole.EDITOR


def test_an_editor_reaches_the_rest_of_the_back_office(client):
    assert login(client, make_user(UserRole.EDITOR)).status_code == 303
    for path in (
        "/admin/",
        "/admin/events/",
        "/admin/speakers/",
        "/admin/kits/",
        "/admin/press/",
        "/admin/mails/",
        "/admin/password",
    ):
        assert client.get(path).status_code == 200, path
    page = text(client.get("/admin/"))
    assert "Comptes" not in page and "Journal des modifications" not in page


def test_an_admin_sees_the_accounts(client):
    assert login(client, make_user(UserRole.ADMIN)).status_code == 303
    assert client.get("/admin/accounts/").status_code == 200
    assert client.get("/admin/audit").status_code == 200


def test_signing_in_goes_back_to_the_page_asked_for(client):
    user = make_user()
    response = login(client, user, next="/admin/speakers/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/speakers/"
    db.session.refresh(user)
    assert user.last_login_at is not None


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/admin", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_the_next_parameter_never_leaves_the_site(client, target):
    response = login(client, make_user(), next=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("case", ["wrong password", "unknown address", "inactive account"])
def test_a_refused_sign_in_says_the_same_thing_whatever_the_reason(app, client, case):
    user = make_user()
    email, password = user.email, PASSWORD
    if case == "wrong password":
        password = "not the right password"
    elif case == "unknown address":
        email = "nobody@example.org"
    else:
        user.active = False
        db.session.commit()
    response = login(client, email, password)
    assert response.status_code == 401
    assert "Adresse mail ou mot de passe incorrect." in text(response)
    assert client.get("/admin/").status_code == 302


def test_sign_in_is_throttled_per_client_address(app, client):
    app.config["LOGIN_RATE_LIMIT_PER_IP"] = "3 per hour"
    make_user(email="someone@example.org")
    for attempt in range(3):
        response = login(client, f"guess{attempt}@example.org", "wrong password!", ip="10.0.0.1")
        assert response.status_code == 401
    response = login(client, "someone@example.org", PASSWORD, ip="10.0.0.1")
    assert response.status_code == 429
    assert "Trop de tentatives de connexion" in text(response)
    # Another address is not held back by the first one's failures.
    assert login(client, "someone@example.org", PASSWORD, ip="10.0.0.2").status_code == 303


def test_sign_in_is_throttled_per_account_and_address(app, client):
    app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"] = "3 per hour"
    user = make_user(email="target@example.org")
    for _ in range(3):
        response = login(client, "Target@Example.org", "wrong password!", ip="10.0.1.1")
        assert response.status_code == 401
    response = login(client, user, PASSWORD, ip="10.0.1.1")
    assert response.status_code == 429
    # The owner, from their own address, is not locked out by someone else's guesses.
    assert login(client, user, PASSWORD, ip="10.0.2.1").status_code == 303


def test_guesses_at_one_account_from_many_addresses_slow_it_down_without_locking_it(app, client):
    app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"] = "3 per hour"
    app.config["LOGIN_SLOWDOWN_MAX_SECONDS"] = 0  # the pause itself is not waited for here
    user = make_user(email="target@example.org")
    for attempt in range(12):
        response = login(client, "target@example.org", "wrong password!", ip=f"10.0.3.{attempt}")
        assert response.status_code == 401
    assert login(client, user, PASSWORD, ip="10.0.4.1").status_code == 303
    with app.test_request_context():
        assert _account_failures("target@example.org") == 12


def test_the_pause_before_a_password_check_doubles_up_to_its_cap():
    pauses = [slowdown_seconds(failures, 10, 8.0) for failures in (0, 9, 10, 11, 12, 20)]
    assert pauses == [0.0, 0.0, 0.25, 0.5, 1.0, 8.0]


def test_the_current_password_check_is_throttled(app, client):
    app.config["PASSWORD_CHECK_RATE_LIMIT"] = "3 per hour"
    user = make_user()
    login(client, user)
    post = Poster(client)
    form = {"password": "a brand new passphrase", "confirm": "a brand new passphrase"}
    for _ in range(3):
        response = post("/admin/password", {**form, "current_password": "not my password!"})
        assert response.status_code == 422
        assert "Ce n'est pas votre mot de passe actuel." in text(response)
    response = post("/admin/password", {**form, "current_password": PASSWORD})
    assert response.status_code == 429
    assert "Trop d'essais du mot de passe actuel" in text(response)
    db.session.refresh(user)
    assert check_password(user, PASSWORD)  # unchanged


def test_successful_sign_ins_do_not_count_against_the_limit(app, client):
    app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"] = "2 per hour"
    user = make_user()
    for _ in range(4):
        assert login(client, user).status_code == 303
        client.post("/admin/logout", data={"csrf_token": csrf_from(client.get("/admin/password"))})


def test_sign_out_needs_a_post_with_its_token_and_ends_the_session(client):
    login(client, make_user())
    assert client.get("/admin/logout").status_code == 405
    assert client.post("/admin/logout").status_code == 400  # no CSRF token
    assert client.get("/admin/").status_code == 200
    token = csrf_from(client.get("/admin/"))
    response = client.post("/admin/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/admin/").status_code == 302


def test_forms_refuse_a_post_without_csrf_token(client):
    login(client, make_user())
    response = client.post("/admin/speakers/new", data={"name": "Sans jeton"})
    assert response.status_code == 400
    assert client.get("/admin/speakers/").get_data(as_text=True).count("Sans jeton") == 0


def test_a_new_password_ends_the_other_sessions(app, client):
    user = make_user()
    login(client, user)
    other = app.test_client()
    login(other, user)
    post = Poster(client)
    response = post(
        "/admin/password",
        {
            "current_password": PASSWORD,
            "password": "un tout nouveau mot de passe",
            "confirm": "un tout nouveau mot de passe",
        },
    )
    assert response.status_code == 303
    assert client.get("/admin/").status_code == 200  # this session carries on
    assert other.get("/admin/").status_code == 302  # the other one is signed out
    assert login(other, user, "un tout nouveau mot de passe").status_code == 303
    assert "user.password" in audit_actions()


def test_the_own_password_form_checks_the_current_one_and_the_length(app, client):
    user = make_user(UserRole.EDITOR)
    login(client, user)
    post = Poster(client)
    wrong = post(
        "/admin/password", {"current_password": "nope", "password": "x" * 20, "confirm": "x" * 20}
    )
    assert wrong.status_code == 422
    short = post(
        "/admin/password", {"current_password": PASSWORD, "password": "court", "confirm": "court"}
    )
    assert short.status_code == 422
    assert "Au moins 12 caractères." in text(short)
    assert login(app.test_client(), user).status_code == 303  # the password did not change


def test_an_admin_creates_an_editor_who_can_then_sign_in(app, client):
    login(client, make_user())
    post = Poster(client)
    response = post(
        "/admin/accounts/new",
        {
            "email": "Nouvelle@Example.org",
            "name": "Nouvelle",
            "role": "editor",
            "password": "mot de passe provisoire",
            "confirm": "mot de passe provisoire",
        },
    )
    assert response.status_code == 303
    created = find_user("nouvelle@example.org")
    assert created is not None and created.role == UserRole.EDITOR
    assert created.password_hash.startswith("$argon2id$")
    again = post(
        "/admin/accounts/new",
        {
            "email": "nouvelle@example.org",
            "role": "editor",
            "password": "mot de passe provisoire",
            "confirm": "mot de passe provisoire",
        },
    )
    assert again.status_code == 422
    assert "user.create" in audit_actions()
    fresh = app.test_client()
    assert login(fresh, "nouvelle@example.org", "mot de passe provisoire").status_code == 303


def test_the_last_active_admin_cannot_demote_or_deactivate_themself(client):
    admin = make_user()
    login(client, admin)
    post = Poster(client)
    response = post(f"/admin/accounts/{admin.id}", {"name": "", "role": "editor", "active": "y"})
    assert response.status_code == 422
    db.session.refresh(admin)
    assert admin.role == UserRole.ADMIN


def test_deactivating_an_account_signs_it_out(app, client):
    editor = make_user(UserRole.EDITOR)
    other = app.test_client()
    login(other, editor)
    login(client, make_user())
    post = Poster(client)
    response = post(f"/admin/accounts/{editor.id}", {"name": "Ex", "role": "editor"})
    assert response.status_code == 303
    assert other.get("/admin/").status_code == 302
    assert login(app.test_client(), editor).status_code == 401


def test_passwords_are_hashed_with_argon2id_at_the_production_cost_and_upgraded(app, client):
    user = make_user()  # made at the tests' small cost
    assert "$m=1024,t=1,p=1$" in user.password_hash
    for name in ("ARGON2_TIME_COST", "ARGON2_MEMORY_KIB", "ARGON2_PARALLELISM"):
        app.config[name] = getattr(default_config, name)
    assert login(client, user).status_code == 303
    db.session.refresh(user)
    assert user.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in user.password_hash


def test_session_cookies_are_secure_on_an_https_site(app):
    assert app.config["SITE_URL"].startswith("https://")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_admin_pages_are_not_cached_nor_indexed(client):
    login(client, make_user())
    response = client.get("/admin/")
    assert response.headers["Cache-Control"] == "no-store"
    assert "noindex" in response.headers["X-Robots-Tag"]


def test_the_footer_links_to_the_back_office(client):
    assert 'href="/admin/"' in client.get("/").get_data(as_text=True)


def test_users_create_prompts_for_the_password_twice(app, runner):
    result = runner.invoke(
        args=["users", "create", "--admin", "--name", "Camille", "camille@example.org"],
        input="trop court\ntrop court\nun mot de passe solide\nun mot de passe solide\n",
    )
    assert result.exit_code == 0, result.output
    assert "needs 12" in result.output
    user = find_user("camille@example.org")
    assert user is not None and user.role == UserRole.ADMIN and user.name == "Camille"
    again = runner.invoke(args=["users", "create", "camille@example.org"], input="x\nx\n")
    assert again.exit_code != 0


def test_users_create_refuses_an_address_mail_cannot_carry(app, runner):
    result = runner.invoke(args=["users", "create", "jösé@example.org"], input="x\nx\n")
    assert result.exit_code != 0
    assert "Internationalized characters before the @-sign" in result.output
    assert find_user("jösé@example.org") is None


def test_demo_login_creates_one_admin_with_a_random_password_once(app, runner, client):
    first = runner.invoke(args=["users", "demo-login"])
    assert first.exit_code == 0, first.output
    password = re.search(r"with the password (\S+)", first.output).group(1)
    assert len(password) >= 12
    assert login(client, "admin@example.org", password).status_code == 303
    second = runner.invoke(args=["users", "demo-login"])
    assert "with the password" not in second.output
    assert "admin@example.org" in second.output
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


# --- sessions end on the server (security finding 2) -------------------------------------------


def _session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_copied_session_cookie_opens_nothing_after_sign_out(app, client):
    login(client, make_user())
    copied = _session_cookie(client)
    token = csrf_from(client.get("/admin/"))
    assert client.post("/admin/logout", data={"csrf_token": token}).status_code == 303
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/admin/").status_code == 302
    assert count(LoginSession) == 0


def test_a_session_ends_after_its_absolute_lifetime_even_when_used(app, client):
    login(client, make_user())
    assert client.get("/admin/").status_code == 200
    opened = db.session.scalars(select(LoginSession)).one()
    opened.created_at = now_utc() - timedelta(
        hours=app.config["ADMIN_SESSION_MAX_HOURS"], minutes=1
    )
    db.session.commit()
    assert client.get("/admin/").status_code == 302


def test_a_session_left_unused_ends_after_the_idle_timeout(app, client):
    login(client, make_user())
    assert client.get("/admin/").status_code == 200
    with client.session_transaction() as cookie:
        idle = app.config["ADMIN_SESSION_IDLE_MINUTES"] + 1
        cookie["seen_at"] -= idle * 60
    assert client.get("/admin/").status_code == 302


def test_two_sign_ins_are_two_sessions_and_signing_out_of_one_keeps_the_other(app, client):
    user = make_user()
    other = app.test_client()
    login(client, user)
    login(other, user)
    assert count(LoginSession) == 2
    client.post("/admin/logout", data={"csrf_token": csrf_from(client.get("/admin/"))})
    assert client.get("/admin/").status_code == 302
    assert other.get("/admin/").status_code == 200
