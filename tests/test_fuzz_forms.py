"""Random input to every public form: never a server error, and nothing written unless the form
itself accepts the input.

One app per backend serves every example of the module (a module-scoped fixture, which Hypothesis
accepts: a function-scoped one would be shared by all examples of a test without being reset).
Each example compares the whole content of every table before and after its request, so an
UPDATE counts as a write as much as an INSERT. Form validation is the oracle: the same form class,
fed the same data, says whether the input was valid; invalid input must change nothing.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from eventapp import create_app
from eventapp.extensions import db
from eventapp.kits.forms import SubscribeForm
from eventapp.press.forms import PressInquiryForm
from eventapp.press.models import PressContact
from eventapp.registrations.forms import RegistrationForm
from tests.admin_helpers import make_user
from tests.conftest import BACKENDS, IsolatedClient, base_config, empty_postgres_tables
from tests.factories import make_event
from tests.kit_helpers import make_kit

# Hypothesis caches what it learns in .hypothesis/: keep that out of the working tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "eventapp-hypothesis")
FUZZ = settings(
    max_examples=50,
    deadline=None,
    database=None,  # examples are not replayed from a previous run
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PLENTY = "100000 per minute"  # the limits have their own tests; here they must not answer first

# --- what to post ----------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\nBcc: victim@evil.example",
    "é" * 201,
    "x@y",
    "@",
    "a@b.c",
    "jean.dupont@example.org",
    "Jean\u2028Dupont",
    "\u202eevil",
    "\ufeff",
    "\x1b[31m",
    "\x7f",
    "<script>alert(1)</script>",
    "{{ 7 * 7 }}",
    "'; DROP TABLE registrations; --",
    "%s%n%x",
    "../../etc/passwd",
    "javascript:alert(1)",
    "//evil.example",
    "0",
    "-1",
    "true",
    "null",
    "😀" * 80,
    "ＡＢＣ",
    "ǅ",
    "\u0301" * 50,
    "0" * 1000,
]
control_text = st.text(
    st.characters(max_codepoint=0x20) | st.sampled_from("\x7f\x85\u2028\u2029"), max_size=20
)
huge_text = st.builds(
    lambda chunk, times: chunk * times,
    st.sampled_from(["a", "é", "😀", "\x00", "a\r\n"]),
    st.integers(1_000, 60_000),
)
# Plain text with one character that breaks things inside: NUL (PostgreSQL refuses it), line
# breaks (mail headers), escapes and invisible marks.
CONTROLS = ["\x00", "\r\n", "\x1b", "\u2028"]
with_control = st.builds(
    lambda before, char, after: before + char + after,
    st.text(max_size=12),
    st.sampled_from(CONTROLS),
    st.text(max_size=12),
)
nasty_text = st.one_of(
    st.text(max_size=60),
    with_control,
    control_text,
    st.sampled_from(NASTY),
    huge_text,
    st.emails().map(lambda address: address.upper()),
)
value = st.one_of(nasty_text, st.lists(nasty_text, min_size=2, max_size=3))  # repeated fields


def payloads(fields: list[str], valid: dict | None = None) -> st.SearchStrategy[dict]:
    """Any subset of the form's own fields (missing ones too), plus fields it never asked for;
    and, given a valid input, that input with one or two fields spoilt or dropped, which is what
    reaches the code behind the validation."""
    known = st.fixed_dictionaries({}, optional={name: value for name in fields})
    unknown = st.dictionaries(st.text(min_size=1, max_size=20), value, max_size=3)
    anything = st.builds(lambda extra, own: {**extra, **own}, unknown, known)
    if valid is None:
        return anything
    spoilt = st.dictionaries(
        st.sampled_from(fields), with_control | nasty_text | st.none(), min_size=1, max_size=2
    )
    near_valid = spoilt.map(
        lambda changes: {
            name: field_value
            for name, field_value in {**valid, **changes}.items()
            if field_value is not None
        }
    )
    return st.one_of(anything, near_valid)


def path_segment() -> st.SearchStrategy[str]:
    return nasty_text.filter(lambda s: 0 < len(s) < 3000).map(lambda s: quote(s, safe=""))


# --- the world the forms live in -------------------------------------------------------------


class World:
    """One app and the rows the forms need: an open event, a kit, a press contact, an account."""

    def __init__(self, app: Flask):
        self.app = app
        self.event = make_event()
        self.kit = make_kit(self.event)
        db.session.add(
            PressContact(name="Claire Dumas", email="presse@example.org", is_default=True)
        )
        db.session.commit()
        make_user(email="organiser@example.org")
        self.tables = [table for table in db.metadata.sorted_tables]

    def state(self) -> dict[str, list]:
        """Return every row of every table, in a stable order."""
        db.session.rollback()  # end the read transaction: see what the requests committed
        return {
            table.name: sorted(map(repr, db.session.execute(select(table)).all()))
            for table in self.tables
        }

    def accepts(self, form_class, payload: dict) -> bool:
        """Tell whether the form, fed this input without its CSRF token, finds it valid."""
        with self.app.test_request_context(method="POST", data=MultiDict(to_items(payload))):
            form = form_class(meta={"csrf": False})
            valid = form.validate()
            spam = getattr(form, "is_spam", lambda: False)()
            return valid and not spam


def to_items(payload: dict) -> list[tuple[str, str]]:
    items = []
    for name, field_value in payload.items():
        for one in field_value if isinstance(field_value, list) else [field_value]:
            items.append((name, one))
    return items


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    if request.param == "sqlite":
        uri = f"sqlite:///{folder / 'fuzz.sqlite3'}"
    else:
        uri = request.getfixturevalue("postgres_database")
    config = {
        **base_config(uri),
        "WTF_CSRF_ENABLED": False,  # to reach validation; tests below turn it back on
        "REGISTRATION_RATE_LIMIT": PLENTY,
        "PRESS_INQUIRY_RATE_LIMIT": PLENTY,
        "KIT_SUBSCRIBE_RATE_LIMIT": PLENTY,
        "UNSUBSCRIBE_RATE_LIMIT": PLENTY,
        "PERSONAL_LINK_RATE_LIMIT": PLENTY,
        "LOGIN_RATE_LIMIT_PER_IP": PLENTY,
        "LOGIN_RATE_LIMIT_PER_ACCOUNT": PLENTY,
        "LOGIN_SLOWDOWN_MAX_SECONDS": 0,  # thousands of wrong passwords for one account here
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 1024,
        "ARGON2_PARALLELISM": 1,
    }
    app = create_app(config, instance_path=str(folder / "instance"))
    app.test_client_class = IsolatedClient
    with app.app_context():
        if request.param == "sqlite":
            db.create_all()
        yield World(app)
        db.session.remove()
        db.engine.dispose()
    if request.param != "sqlite":
        empty_postgres_tables(uri)


def assert_on_site(response) -> None:
    """A redirect, if any, stays on this site (werkzeug's 308 for merged slashes included)."""
    if response.status_code not in (301, 302, 303, 307, 308):
        return
    location = response.headers["Location"]
    assert "\\" not in location, location
    parts = urlsplit(location)
    if parts.netloc:  # werkzeug's own redirects are absolute, on the requested host
        assert parts.netloc == "localhost" and parts.scheme == "http", location
    else:
        assert location.startswith("/") and not location.startswith("//"), location


def changed_tables(before: dict, after: dict) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def check_form(
    world, url: str, form_class, payload: dict, *, writes: set[str], refused: set[int], client=None
) -> None:
    """Post the payload; no 5xx; writes only into `writes`, and only for input the form accepts."""
    client = client or world.app.test_client()
    before = world.state()
    response = client.post(url, data=MultiDict(to_items(payload)))
    assert response.status_code < 500, response.get_data(as_text=True)[-2000:]
    changed = changed_tables(before, world.state())
    if world.accepts(form_class, payload):
        assert response.status_code == 303
        assert changed <= writes
    else:
        assert changed == set(), f"{changed} written for refused input"
        assert response.status_code in refused


# --- one test per form -----------------------------------------------------------------------

REGISTRATION_WRITES = {"registrations", "registration_tokens", "outbox_messages"}
REGISTRATION_FIELDS = [
    "full_name",
    "email",
    "organisation",
    "category",
    "wants_followups",
    "website",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "referrer",
]
PRESS_FIELDS = ["name", "outlet", "email", "phone", "subject", "message", "website"]
VALID_REGISTRATION = {
    "full_name": "Anne Martin",
    "email": "anne@example.org",
    "category": "elu",
    "organisation": "Ville de Lille",
    "wants_followups": "y",
    "utm_source": "lettre",
    "referrer": "https://www.example.org/",
}
VALID_INQUIRY = {
    "name": "Léa Durand",
    "outlet": "La Voix du Nord",
    "email": "lea@example.org",
    "phone": "06 12 34 56 78",
    "subject": "Interview",
    "message": "Bonjour,\nMerci.",
}


@FUZZ
@given(
    payload=payloads(REGISTRATION_FIELDS, VALID_REGISTRATION),
    category=st.sampled_from(["agent", "elu", None]),
)
def test_the_registration_form(world, payload, category):
    if category:  # often a valid choice, so that valid registrations happen too
        payload.setdefault("category", category)
    check_form(
        world,
        f"/events/{world.event.slug}/register",
        RegistrationForm,
        payload,
        writes=REGISTRATION_WRITES,
        refused={422},
    )


@FUZZ
@given(payload=payloads(PRESS_FIELDS, VALID_INQUIRY))
def test_the_press_inquiry_form(world, payload):
    spam = bool(to_items({"w": payload.get("website", "")})[0][1])
    check_form(
        world,
        "/press/contact",
        PressInquiryForm,
        payload,
        writes={"press_inquiries", "outbox_messages"},
        refused={303} if spam else {422},
    )


@FUZZ
@given(payload=payloads(["email", "website"], {"email": "lou@example.org"}))
def test_the_kit_subscription_form(world, payload):
    spam = bool(to_items({"w": payload.get("website", "")})[0][1])
    check_form(
        world,
        f"/kits/{world.kit.slug}/subscribe",
        SubscribeForm,
        payload,
        writes={"kit_subscribers", "outbox_messages"},
        refused={303} if spam else {422},
    )


@FUZZ
@given(
    payload=payloads(
        ["email", "password", "next"],
        {"email": "organiser@example.org", "password": "not the password"},
    )
)
def test_the_sign_in_form(world, payload):
    client = world.app.test_client()
    before = world.state()
    response = client.post("/admin/login", data=MultiDict(to_items(payload)))
    assert response.status_code in (401, 422), response.status_code
    assert changed_tables(before, world.state()) == set()
    assert client.get("/admin/").status_code == 302  # still signed out


@FUZZ
@given(
    token=path_segment(),
    payload=payloads(["confirm", "wanted", "csrf_token"]),
    action=st.sampled_from(["cancel", "followups", "erase"]),
)
def test_the_attendee_space_with_a_bad_token(world, token, payload, action):
    before = world.state()
    response = world.app.test_client().post(
        f"/r/{token}/{action}", data=MultiDict(to_items(payload))
    )
    assert response.status_code in (404, 405, 308), response.status_code
    assert_on_site(response)
    assert changed_tables(before, world.state()) == set()


@FUZZ
@given(
    token=path_segment(),
    payload=payloads(["List-Unsubscribe", "confirm"]),
    path=st.sampled_from(["/unsubscribe/", "/subscribe/confirm/"]),
)
def test_unsubscribing_and_confirming_with_a_bad_token(world, token, payload, path):
    before = world.state()
    response = world.app.test_client().post(path + token, data=MultiDict(to_items(payload)))
    assert response.status_code in (404, 405, 308), response.status_code
    assert_on_site(response)
    assert changed_tables(before, world.state()) == set()


@FUZZ
@given(code=st.one_of(st.sampled_from(["fr", "en"]), path_segment()), target=value)
def test_the_language_switch(world, code, target):
    before = world.state()
    response = world.app.test_client().get(
        f"/lang/{code}", query_string=MultiDict(to_items({"next": target}))
    )
    assert response.status_code in (303, 308, 404), response.status_code
    assert_on_site(response)
    if response.status_code == 303:
        assert urlsplit(response.headers["Location"]).netloc == ""
    assert changed_tables(before, world.state()) == set()


# --- the same with CSRF on -------------------------------------------------------------------

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

CSRF_FORMS = {
    "registration": (
        lambda w: f"/events/{w.event.slug}/register",
        RegistrationForm,
        REGISTRATION_FIELDS,
        REGISTRATION_WRITES,
    ),
    "press": (
        lambda w: "/press/contact",
        PressInquiryForm,
        PRESS_FIELDS,
        {"press_inquiries", "outbox_messages"},
    ),
    "kit": (
        lambda w: f"/kits/{w.kit.slug}/subscribe",
        SubscribeForm,
        ["email", "website"],
        {"kit_subscribers", "outbox_messages"},
    ),
}


@settings(FUZZ, max_examples=30)
@given(
    form=st.sampled_from(sorted(CSRF_FORMS)),
    payload=payloads(PRESS_FIELDS + ["full_name"]),
    token_kind=st.sampled_from(["valid", "random", "missing"]),
    forged=nasty_text,
)
def test_the_forms_with_csrf_on(world, form, payload, token_kind, forged):
    url, form_class, _fields, writes = CSRF_FORMS[form]
    url = url(world)
    world.app.config["WTF_CSRF_ENABLED"] = True  # for this test only: the fixture is shared
    try:
        client = world.app.test_client()
        page = client.get(url if form != "kit" else f"/kits/{world.kit.slug}")
        payload.pop("csrf_token", None)
        if token_kind == "valid":
            payload["csrf_token"] = CSRF_INPUT.search(page.get_data(as_text=True)).group(1)
            spam = bool(to_items({"w": payload.get("website", "")})[0][1])
            refused = {303} if spam and form != "registration" else {422}
            check_form(
                world, url, form_class, payload, writes=writes, refused=refused, client=client
            )
            return
        if token_kind == "random":
            payload["csrf_token"] = forged
        before = world.state()
        response = client.post(url, data=MultiDict(to_items(payload)))
        assert response.status_code == 400, response.status_code
        assert changed_tables(before, world.state()) == set()
    finally:
        world.app.config["WTF_CSRF_ENABLED"] = False


# --- every field against every hostile value, systematically -----------------------------------

HOSTILE_VALUES = [
    "\x00",
    "a\x00b",
    "a\r\nBcc: victim@evil.example",
    "\x1b[2J",
    "\u2028",
    "é" * 20_000,
    "😀" * 300,
    "",
    "   ",
]
SYSTEMATIC = [
    ("registration", RegistrationForm, VALID_REGISTRATION, REGISTRATION_FIELDS),
    ("press", PressInquiryForm, VALID_INQUIRY, PRESS_FIELDS),
    ("kit", SubscribeForm, {"email": "lou@example.org"}, ["email", "website"]),
]


@pytest.mark.parametrize("form", [name for name, *_ in SYSTEMATIC])
def test_each_field_against_each_hostile_value(world, form):
    _name, form_class, valid, fields = next(entry for entry in SYSTEMATIC if entry[0] == form)
    url, writes = {
        "registration": (f"/events/{world.event.slug}/register", REGISTRATION_WRITES),
        "press": ("/press/contact", {"press_inquiries", "outbox_messages"}),
        "kit": (f"/kits/{world.kit.slug}/subscribe", {"kit_subscribers", "outbox_messages"}),
    }[form]
    for number, (field, hostile) in enumerate(
        (field, hostile) for field in fields for hostile in HOSTILE_VALUES
    ):
        payload = {**valid, field: hostile}
        if "email" in payload and field != "email":
            payload["email"] = f"n{number}-{payload['email']}"  # a new person each time
        spam = bool(payload.get("website"))
        check_form(
            world,
            url,
            form_class,
            payload,
            writes=writes,
            refused={303} if spam and form != "registration" else {422},
        )


def test_the_fuzz_app_sees_writes(world):
    """The harness itself: a valid registration changes the state it compares."""
    before = world.state()
    response = world.app.test_client().post(
        f"/events/{world.event.slug}/register",
        data={"full_name": "Anne Martin", "email": "anne.fuzz@example.org", "category": "elu"},
    )
    assert response.status_code == 303
    assert changed_tables(before, world.state()) == REGISTRATION_WRITES
