"""Every public and back-office page, in French and in English, checked with axe-core in Chromium.

A page passes when axe finds no violation of impact "serious" or "critical" and every form field
has a label. Forms are also checked after an empty submit (an error summary whose links lead to
the fields), and the keyboard focus must be visible wherever it lands. Every finding, whatever
its impact, is written to test-artifacts/axe-report.json.

axe is injected as an inline script, which the site's Content-Security-Policy forbids: these
pages are opened in a context with bypass_csp=True (the journeys keep the policy on).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import url_for
from playwright.sync_api import expect
from sqlalchemy import select

from eventapp import create_app
from eventapp.aftermath.demo import PAST_SLUG
from eventapp.auth.models import User
from eventapp.demo import LAUNCH_SLUG
from eventapp.demo import PRESS_RELEASE_SLUG as RELEASE_SLUG
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.kits.demo import KIT_SLUG
from eventapp.kits.models import Kit, Sheet
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage
from eventapp.press.models import PressContact, PressRelease
from eventapp.registrations.models import Registration
from eventapp.registrations.services import Applicant, register_attendee
from eventapp.rooms.imports import keep_report
from eventapp.speakers.models import Speaker
from tests.e2e.conftest import (
    PageWatch,
    axe,
    log_in,
    new_context,
    serious,
)
from tests.factories import make_event

DATA = Path(__file__).resolve().parent.parent / "data"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

LOCALES = ["fr", "en"]
FILE_SUFFIXES = (".ics", ".atom", ".xml", ".json", ".csv", ".vcf", ".txt", ".pdf", ".png", ".ico")
# GET routes that answer with a file, data or a redirect, not a page.
NOT_PAGES = {
    "static",
    "site.set_language",
    "site.health",
    "speaker_photos.photo",
    "press.image",
    "press.attachment",
    "kits.download",
    "kits.download_accessible",
    "registrations.data",
    "registrations.personal_invite",
    "registrations.join",
    "registrations.join_from_space",
    "admin.press.release_image",
    "admin.registrations.export",
}

# Public pages that need a value in their address; the ones without are found in the URL map.
PUBLIC_PAGES = {
    "event": lambda s: f"/events/{LAUNCH_SLUG}",
    "registration-form": lambda s: f"/events/{LAUNCH_SLUG}/register",
    "registration-done": lambda s: f"/events/{LAUNCH_SLUG}/register/done?outcome=confirmed",
    "event-full-waitlist": lambda s: "/events/e2e-complet",
    "registration-form-waitlist": lambda s: "/events/e2e-complet/register",
    "event-live": lambda s: "/events/e2e-direct",
    "event-ended": lambda s: "/events/e2e-passe",
    "event-with-replay": lambda s: f"/events/{PAST_SLUG}",
    "registration-waitlisted": lambda s: f"/events/{LAUNCH_SLUG}/register/done?outcome=waitlisted",
    "cancel-confirmation": lambda s: s["space"] + "/cancel",
    "attendee-space": lambda s: s["space"],
    "attendee-space-cancelled": lambda s: s["cancelled_space"],
    "join-waiting": lambda s: s["join"],
    "join-refused": lambda s: s["cancelled_join"],
    "invalid-personal-link": lambda s: "/r/ce-lien-n-existe-pas",
    "press-release": lambda s: f"/press/{RELEASE_SLUG}",
    "press-inquiry-form": lambda s: "/press/contact",
    "kit": lambda s: f"/kits/{KIT_SLUG}",
    "sheet": lambda s: f"/kits/{KIT_SLUG}/sheets/1",
    "kit-subscribed": lambda s: f"/kits/{KIT_SLUG}/subscribe/done",
    "kit-confirm": lambda s: s["kit_confirm"],
    "kit-invalid-link": lambda s: "/subscribe/confirm/ce-lien-n-existe-pas",
    "sign-in": lambda s: "/admin/login",
    "not-found": lambda s: "/cette-page-n-existe-pas",
}

# Forms checked after an empty submit: (which page, the form on it, signed in?)
FORMS = {
    "registration": (f"/events/{LAUNCH_SLUG}/register", "form[action$='/register']", False),
    "press-inquiry": ("/press/contact", "form[action*='/press/contact']", False),
    "kit-subscription": (f"/kits/{KIT_SLUG}", "#abonnement-form", False),
    "sign-in": ("/admin/login", "main form[action$='/admin/login']", False),
    "admin-speaker": ("/admin/speakers/new", ".admin-main form[enctype]", True),
    "admin-event": ("/admin/events/new", ".admin-main form[method=post]", True),
    "admin-account": ("/admin/accounts/new", ".admin-main form[method=post]", True),
    "admin-password": ("/admin/password", ".admin-main form[method=post]", True),
}


def page_routes() -> tuple[list[str], list[tuple[str, str]]]:
    """Return the public GET pages without parameters and every back-office GET page's rule."""
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "routes", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    public, admin = set(), set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_PAGES:
            continue
        if rule.rule.endswith(FILE_SUFFIXES):
            continue
        if rule.endpoint.startswith("admin."):
            admin.add((rule.endpoint, rule.rule))
        elif not rule.arguments and rule.endpoint != "auth.login":
            public.add(rule.endpoint)
    return sorted(public), sorted(admin)


PUBLIC_ROUTES, ADMIN_ROUTES = page_routes()


# Fixtures


@pytest.fixture(scope="module")
def seed(browser, live_site) -> dict[str, str]:
    """Make what the pages need through the site itself, and collect the links the mails carry."""
    context = new_context(browser, live_site, "fr")
    page = context.new_page()

    def register(name: str, email: str) -> None:
        page.goto(live_site.path(f"/events/{LAUNCH_SLUG}/register"))
        page.locator("#full_name").fill(name)
        page.locator("#email").fill(email)
        page.locator("#category").select_option("agent")
        page.locator("form[action$='/register'] button[type=submit]").click()
        page.wait_for_url(re.compile(r"/register/done\?outcome=confirmed$"))

    register("Claude Bernard", "claude@example.org")
    register("Lou Garnier", "lou@example.org")
    page.goto(live_site.path("/press/contact"))
    for name, value in [
        ("name", "Alex Dupont"),
        ("outlet", "Radio Lille"),
        ("email", "alex@example.org"),
        ("subject", "Le kit"),
        ("message", "Une question sur le kit."),
    ]:
        page.locator(f"#{name}").fill(value)
    page.locator("form[action*='/press/contact'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/press/contact/thanks$"))
    page.goto(live_site.path(f"/kits/{KIT_SLUG}"))
    page.locator("#abonnement-form #email").fill("abonnee@example.org")
    page.locator("#abonnement-form button[type=submit]").click()
    # The redirect has no fragment of its own: the browser keeps the form action's #abonnement.
    page.wait_for_url(re.compile(r"/subscribe/done(#abonnement)?$"))
    live_site.deliver()

    claude = live_site.mail_to("claude@example.org", "Inscription confirmée")
    lou = live_site.mail_to("lou@example.org", "Inscription confirmée")
    links = {
        "space": live_site.link_in(claude, "/r/"),
        "join": live_site.link_in(claude, "/j/"),
        "cancelled_space": live_site.link_in(lou, "/r/"),
        "cancelled_join": live_site.link_in(lou, "/j/"),
        "kit_confirm": live_site.link_in(
            live_site.mail_to("abonnee@example.org", "Confirmez"), "/subscribe/confirm/"
        ),
    }
    live_site.query(add_events_in_every_state)
    page.goto(links["cancelled_space"] + "/cancel")
    page.locator("form[action$='/cancel'] button[type=submit]").click()
    expect(page.locator(".status")).to_have_class(re.compile("status-cancelled"))
    context.close()
    return {key: url.removeprefix(live_site.url) for key, url in links.items()}


def add_events_in_every_state() -> None:
    """A full event with its waiting list open, one on air, one over (the demo's launch is
    upcoming with seats)."""
    now = now_utc().replace(microsecond=0)
    full = make_event(slug="e2e-complet", title="Atelier complet", capacity=1)
    make_event(slug="e2e-direct", title="Webinaire en cours", starts_at=now - timedelta(minutes=5))
    make_event(slug="e2e-passe", title="Webinaire passé", starts_at=now - timedelta(days=20))
    register_attendee(full, Applicant(full_name="Sam Leroy", email="sam@example.org"), now)
    # The demo's sheets come out after its launch, next Thursday: one out already, as a week later.
    first = db.session.scalars(
        select(Sheet).join(Kit).where(Kit.slug == KIT_SLUG, Sheet.number == 1)
    ).one()
    first.release_at = first.notified_at = now - timedelta(days=1)
    db.session.commit()


@pytest.fixture(scope="module")
def pages(browser, live_site):
    """One page per (locale, signed in or not), CSP bypassed so that axe can be injected."""
    opened, watches = {}, {}

    def get(locale: str, organiser: bool):
        key = (locale, organiser)
        if key not in opened:
            context = new_context(browser, live_site, locale, bypass_csp=True)
            page = context.new_page()
            watches[key] = PageWatch()
            watches[key].attach(page)
            if organiser:
                log_in(page, live_site)
            opened[key] = page
        return opened[key], watches[key]

    yield get
    for page in opened.values():
        page.context.close()


@pytest.fixture(scope="module")
def admin_ids(live_site, seed) -> dict[str, int | str]:
    """An existing row for every kind of id a back-office address takes."""

    def first(model, *where):
        return db.session.scalars(select(model.id).where(*where).order_by(model.id)).first()

    def read():
        event_id = first(Event, Event.slug == LAUNCH_SLUG)
        kit_id = first(Kit, Kit.slug == KIT_SLUG)
        return {
            "event_id": event_id,
            "speaker_id": first(Speaker),
            "kit_id": kit_id,
            "sheet_id": first(Sheet, Sheet.kit_id == kit_id),
            "release_id": first(PressRelease, PressRelease.slug == RELEASE_SLUG),
            "contact_id": first(PressContact),
            "registration_id": first(Registration, Registration.email == "claude@example.org"),
            "message_id": first(OutboxMessage),
            "user_id": first(User),
        }

    def kept_report() -> str:
        # An attendance report waiting for its preview (admin.attendance.preview).
        launch = db.session.scalars(select(Event).where(Event.slug == LAUNCH_SLUG)).one()
        name = keep_report(launch, (DATA / "attendance" / "zoom_fr.csv").read_bytes())
        db.session.commit()
        return name

    ids = live_site.query(read)
    ids["name"] = live_site.query(kept_report)
    assert all(ids.values()), ids
    return ids


# Checks


# Fields that are drawn (the honeypot is, off-screen) and that nothing names.
UNLABELLED_FIELDS = """() => [...document.querySelectorAll("input, select, textarea")]
    .filter(el => !["hidden", "submit", "button", "reset", "image"].includes(el.type))
    .filter(el => el.getClientRects().length > 0)
    .filter(el => el.labels.length === 0 && !el.getAttribute("aria-label")
                  && !el.getAttribute("aria-labelledby") && !el.title)
    .map(el => el.outerHTML.slice(0, 120))"""


# An id used twice sends a label, a summary link or an aria reference to the wrong element.
DUPLICATE_IDS = """() => {
    const ids = [...document.querySelectorAll("[id]")].map(el => el.id);
    return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
}"""


def check_page(page, watch: PageWatch, locale: str, label: str) -> None:
    """In the asked language, no serious or critical axe violation, every field labelled."""
    expect(page.locator("html")).to_have_attribute("lang", locale)
    assert page.locator("h1").count() >= 1, f"{label}: the page has no heading"
    found = serious(axe(page, label))
    assert found == [], f"{label}: {found}"
    assert page.evaluate(UNLABELLED_FIELDS) == [], label
    assert page.evaluate(DUPLICATE_IDS) == [], f"{label}: ids used twice"
    assert watch.server_errors == [], watch.server_errors


# What sticks out of a 320 px screen: the page scrolls sideways, the innermost culprits listed.
OVERFLOW = """() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    return [...document.querySelectorAll("body *")]
        .filter(el => el.getBoundingClientRect().right > width + 1)
        .filter(el => ![...el.children].some(c => c.getBoundingClientRect().right > width + 1))
        .map(el => el.outerHTML.slice(0, 120));
}"""


# Targets that stand alone (not a link inside a sentence) smaller than 24 × 24 px (WCAG 2.5.8).
SMALL_TARGETS = """() => [...document.querySelectorAll(
        "nav a, .nav-list a, .facts a, button, .button, input[type=submit]")]
    .filter(el => el.getClientRects().length > 0)
    .filter(el => { const r = el.getBoundingClientRect(); return r.height < 24 || r.width < 24; })
    .map(el => el.outerHTML.slice(0, 100))"""
HEADER_HEIGHT = "() => document.querySelector('.site-header').getBoundingClientRect().height"


def check_narrow_screen(page, label: str) -> None:
    """At 320 px (WCAG 1.4.10 reflow) nothing makes the page scroll sideways, standalone targets
    are at least 24 px, and the header leaves the screen to the page."""
    page.set_viewport_size({"width": 320, "height": 900})
    try:
        wider = page.evaluate(OVERFLOW)
        assert wider == [], f"{label}: wider than 320 px: {wider}"
        small = page.evaluate(SMALL_TARGETS)
        assert small == [], f"{label}: targets under 24 px: {small}"
        assert page.evaluate(HEADER_HEIGHT) <= 120, f"{label}: the header takes too much room"
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def open_page(page, url: str, expected: tuple[int, ...] = (200,)):
    response = page.goto(url)
    assert response is not None and response.status in expected, (url, response and response.status)
    assert response.headers["content-type"].startswith("text/html"), (
        f"{url} is not a page: if that is right, add its endpoint to NOT_PAGES"
    )
    return response


# Tests


@pytest.mark.parametrize("name", PUBLIC_ROUTES)
@pytest.mark.parametrize("locale", LOCALES)
def test_public_page_without_parameters(pages, live_site, locale, name):
    page, watch = pages(locale, False)
    with live_site.app.test_request_context():
        path = url_for(name)
    open_page(page, live_site.path(path))
    check_page(page, watch, locale, f"{locale} {name} {path}")
    check_narrow_screen(page, f"{locale} {name} {path}")


@pytest.mark.parametrize("name", sorted(PUBLIC_PAGES))
@pytest.mark.parametrize("locale", LOCALES)
def test_public_page(pages, live_site, seed, locale, name):
    page, watch = pages(locale, False)
    path = PUBLIC_PAGES[name](seed)
    open_page(page, live_site.path(path), expected=(200, 403, 404))
    check_page(page, watch, locale, f"{locale} {name} {path}")
    check_narrow_screen(page, f"{locale} {name} {path}")


# What each state says, in each language: (page, French, English).
STATE_WORDS = [
    ("/events/e2e-complet", "M'inscrire sur la liste d'attente", "Join the waiting list"),
    ("/events/e2e-complet/register", "Complet : inscrivez-vous", "Full: join the waiting list"),
    ("/events/e2e-direct", "En direct", "Live"),
    ("/events/e2e-passe", "Cet événement a eu lieu le", "This event took place on"),
    ("/", "Complet : liste d'attente ouverte", "Full: waiting list open"),
]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_state_is_said_in_the_visitors_language(pages, live_site, seed, locale):
    page, _watch = pages(locale, False)
    for path, french, english in STATE_WORDS:
        open_page(page, live_site.path(path))
        expect(page.locator("main")).to_contain_text(french if locale == "fr" else english)
    open_page(page, live_site.path("/events/e2e-passe"))
    expect(
        page.locator("main").get_by_role("link", name=re.compile("inscri|regist", re.I))
    ).to_have_count(0)


@pytest.mark.parametrize(
    "endpoint, rule_path", ADMIN_ROUTES, ids=[f"{e}:{r}" for e, r in ADMIN_ROUTES]
)
@pytest.mark.parametrize("locale", LOCALES)
def test_admin_page(pages, live_site, admin_ids, locale, endpoint, rule_path):
    page, watch = pages(locale, True)
    [rule] = [r for r in live_site.app.url_map.iter_rules(endpoint) if r.rule == rule_path]
    unknown = set(rule.arguments) - set(admin_ids)
    assert not unknown, f"{endpoint}: no test row for {unknown}; add one to admin_ids"
    with live_site.app.test_request_context():
        path = (
            rule_path
            if not rule.arguments
            else url_for(endpoint, **{name: admin_ids[name] for name in rule.arguments})
        )
    open_page(page, live_site.path(path))
    assert "/admin/login" not in page.url
    check_page(page, watch, locale, f"{locale} {endpoint} {path}")


SUMMARY_LINKS = """summary => [...summary.querySelectorAll("a")].map(a => {
    const id = decodeURIComponent(a.hash.slice(1));
    const target = document.getElementById(id);
    const described = (target && target.getAttribute("aria-describedby") || "").split(" ");
    return {
        id, tag: target && target.tagName.toLowerCase(),
        invalid: target && target.getAttribute("aria-invalid"),
        error: described.map(ref => document.getElementById(ref)).filter(Boolean)
                        .some(el => el.classList.contains("field-error")),
    };
})"""


@pytest.mark.parametrize("form_name", sorted(FORMS))
@pytest.mark.parametrize("locale", LOCALES)
def test_form_errors_are_summed_up_and_lead_to_their_fields(pages, live_site, locale, form_name):
    url, form_css, organiser = FORMS[form_name]
    page, watch = pages(locale, organiser)
    open_page(page, live_site.path(url))
    page.locator(form_css).locator("button[type=submit]").last.click()
    page.wait_for_load_state()

    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    # Announced as it appears (an alert), or focused.
    announced = summary.evaluate(
        "el => el.getAttribute('role') === 'alert' || el === document.activeElement"
    )
    assert announced, f"{form_name}: the error summary is neither an alert nor focused"
    links = summary.evaluate(SUMMARY_LINKS)
    assert links, f"{form_name}: the summary lists no field"
    for link in links:
        assert link["tag"] in ("input", "select", "textarea"), (form_name, link)
        assert link["invalid"] == "true", (form_name, link)
        assert link["error"], f"{form_name}: #{link['id']} is not described by its error"
    # Following a link of the summary puts the keyboard on the field.
    summary.locator("a").first.click()
    assert page.evaluate("() => document.activeElement.id") == links[0]["id"]
    check_page(page, watch, locale, f"{locale} {form_name} with errors")


FOCUS_STYLE = """el => {
    const s = getComputedStyle(el);
    return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow].join(" | ");
}"""
MARK_UNFOCUSED = (
    '() => document.querySelectorAll("a[href], button, input, select, textarea, summary")'
    ".forEach(el => el.dataset.unfocused = (" + FOCUS_STYLE + ")(el))"
)


@pytest.mark.parametrize(
    "url, organiser",
    [("/", False), (f"/events/{LAUNCH_SLUG}/register", False), ("/admin/events/", True)],
)
def test_keyboard_focus_is_visible_everywhere_it_lands(pages, live_site, url, organiser):
    page, _ = pages("fr", organiser)
    open_page(page, live_site.path(url))
    # Each element's look without focus, remembered before any key is pressed.
    page.evaluate(MARK_UNFOCUSED)
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    expect(skip).to_be_focused()
    assert skip.evaluate("el => el.getBoundingClientRect().left >= 0"), "skip link stays off-screen"

    seen = 0
    for _ in range(60):
        focused = page.locator(":focus")
        if focused.count() == 0 or focused.evaluate("el => el.dataset.unfocused") is None:
            break
        before = focused.evaluate("el => el.dataset.unfocused")
        after = focused.evaluate(FOCUS_STYLE)
        where = focused.evaluate("el => el.outerHTML.slice(0, 100)")
        assert after != before, f"no visible focus on {where}"
        assert not after.startswith("none") or "rgb" in after.split(" | ")[3], where
        seen += 1
        page.keyboard.press("Tab")
    assert seen >= 5, f"only {seen} focusable elements reached on {url}"


def test_english_pages_are_written_in_english(pages, live_site):
    french, _ = pages("fr", False)
    english, _ = pages("en", False)
    open_page(french, live_site.path("/"))
    open_page(english, live_site.path("/"))
    expect(french.locator("h1")).to_have_text("Événements")
    expect(english.locator("h1")).to_have_text("Events")
    expect(english.get_by_role("link", name="Skip to content")).to_have_count(1)


def test_the_checks_catch_a_planted_fault(pages, live_site):
    """The checker itself works: faults planted in a real page are reported."""
    page, _ = pages("fr", False)
    open_page(page, live_site.path("/"))
    page.evaluate(
        """() => document.querySelector("main").insertAdjacentHTML("beforeend",
            '<p style="color:#bbb;background:#fff">pâle</p><input type="text" id="x">'
            + '<img src="/static/site.css"><span id="x"></span>')"""
    )
    found = {v["id"] for v in serious(axe(page, "self-test: planted faults"))}
    assert {"color-contrast", "image-alt", "label"} <= found
    assert page.evaluate(UNLABELLED_FIELDS) != []
    assert page.evaluate(DUPLICATE_IDS) == ["x"]
