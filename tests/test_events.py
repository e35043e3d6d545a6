"""Public event pages: listing, details, French dates, the connection link kept secret."""

from datetime import UTC, datetime, timedelta

from eventapp.events.models import EventKind, EventStatus, RegistrationState, RegistrationWindow
from eventapp.models import now_utc
from tests.factories import add_speaker, make_event, make_speaker


def page(client, url, lang="fr"):
    response = client.get(url, headers={"Accept-Language": lang})
    return response, response.get_data(as_text=True).replace("\u00a0", " ").replace("\u202f", " ")


def test_home_lists_upcoming_events_soonest_first_then_past_ones(client):
    now = now_utc()
    make_event(title="Later", starts_at=now + timedelta(days=20))
    make_event(title="Sooner", starts_at=now + timedelta(days=2))
    make_event(title="Long ago", starts_at=now - timedelta(days=30))
    make_event(title="Draft", starts_at=now + timedelta(days=3), status=EventStatus.DRAFT)
    _, html = page(client, "/")
    assert (
        html.index("Sooner") < html.index("Later") < html.index("Passés") < html.index("Long ago")
    )
    assert "Draft" not in html


def test_event_page_shows_french_date_duration_format_and_speakers_in_order(client):
    event = make_event(
        slug="lancement",
        title="Lancement du kit",
        starts_at=datetime(2021, 2, 25, 12, 30, tzinfo=UTC),
        description="Un **kit** de fiches.",
    )
    second, first = make_speaker(name="Pascal Duforestel"), make_speaker(name="Mahel Coppey")
    add_speaker(event, second, position=2)
    add_speaker(event, first, position=1, role="moderator")
    response, html = page(client, "/events/lancement")
    assert response.status_code == 200
    assert "jeudi 25 février 2021, 13 h 30 – 14 h, heure de Paris" in html
    assert "30 minutes" in html
    assert "En ligne (visioconférence)" in html
    assert "<strong>kit</strong>" in html
    assert html.index("Mahel Coppey") < html.index("Pascal Duforestel")
    assert "Animation" in html


def test_event_page_in_english(client):
    make_event(slug="launch", starts_at=datetime(2021, 2, 25, 12, 30, tzinfo=UTC))
    _, html = page(client, "/events/launch", lang="en")
    assert '<html lang="en">' in html
    assert "Thursday, February 25, 2021, 1:30 PM – 2:00 PM, Paris time" in html
    assert "Online (video conference)" in html


def test_dates_are_right_on_both_sides_of_a_dst_change(client):
    # Paris moves from UTC+1 to UTC+2 on 28 March 2021 at 02:00.
    make_event(slug="winter", starts_at=datetime(2021, 3, 27, 12, 30, tzinfo=UTC))
    make_event(slug="summer", starts_at=datetime(2021, 3, 29, 11, 30, tzinfo=UTC))
    assert "samedi 27 mars 2021, 13 h 30 – 14 h" in page(client, "/events/winter")[1]
    assert "lundi 29 mars 2021, 13 h 30 – 14 h" in page(client, "/events/summer")[1]


def test_an_event_in_another_timezone_is_shown_in_its_own(client):
    make_event(
        slug="toronto",
        starts_at=datetime(2021, 6, 1, 13, 0, tzinfo=UTC),
        timezone="America/Toronto",
    )
    assert "9 h – 9 h 30, heure de Toronto" in page(client, "/events/toronto")[1]


def test_drafts_and_unknown_slugs_are_not_found_in_the_site_layout(client):
    make_event(slug="brouillon", status=EventStatus.DRAFT)
    for url in ("/events/brouillon", "/events/nope"):
        response, html = page(client, url)
        assert response.status_code == 404
        assert "Page introuvable" in html
        assert 'class="site-footer"' in html


def test_connection_url_is_never_on_a_public_page_unless_made_public(client):
    hidden = make_event(slug="hidden", connection_url="https://visio.example.org/room-hidden")
    shown = make_event(
        slug="shown",
        connection_url="https://visio.example.org/room-shown",
        connection_url_public=True,
    )
    add_speaker(hidden, make_speaker())
    pages = "".join(
        page(client, url, lang)[1]
        for url in ("/", "/speakers", "/events/hidden", "/events/shown")
        for lang in ("fr", "en")
    )
    assert "room-hidden" not in pages
    assert f'href="{shown.connection_url}"' in page(client, "/events/shown")[1]


def test_public_link_is_not_shown_for_an_in_person_event(client):
    make_event(
        slug="salle",
        kind=EventKind.IN_PERSON,
        venue="Lille",
        connection_url="https://visio.example.org/room-salle",
        connection_url_public=True,
    )
    assert "room-salle" not in page(client, "/events/salle")[1]


def test_registration_state_follows_the_window_and_the_event(app):
    now = now_utc()
    event = make_event(
        starts_at=now + timedelta(days=5),
        registration_opens_at=now + timedelta(days=1),
        registration_closes_at=now + timedelta(days=4),
    )
    assert event.registration_state(now) == RegistrationState.NOT_YET_OPEN
    assert event.registration_state(now + timedelta(days=2)) == RegistrationState.OPEN
    assert event.registration_state(now + timedelta(days=4)) == RegistrationState.CLOSED
    event.registration_closes_at = None
    assert event.registration_state(now + timedelta(days=6)) == RegistrationState.ENDED
    event.status = EventStatus.CANCELLED
    assert event.registration_state(now + timedelta(days=2)) == RegistrationState.CANCELLED


def test_closed_registration_is_said_on_the_page(client):
    now = now_utc()
    make_event(slug="closed", registration_closes_at=now - timedelta(hours=1))
    assert "Les inscriptions sont closes depuis le" in page(client, "/events/closed")[1]
    assert "Registration closed on" in page(client, "/events/closed", "en")[1]


def test_cancelled_event_says_so(client):
    make_event(slug="off", status=EventStatus.CANCELLED)
    assert "Cet événement est annulé." in page(client, "/events/off")[1]


def count_queries(app, action) -> int:
    """Run `action` and return how many SQL statements it sent."""
    from sqlalchemy import event as sa_event

    from eventapp.extensions import db as database

    statements = []

    def record(*_args):
        statements.append(1)

    engine = database.engine
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def test_the_event_page_is_served_from_cache_until_something_changes(app, client):
    from eventapp.extensions import db as database

    event = make_event(slug="cached", title="Avant")
    speaker = make_speaker(name="Mahel Coppey")
    add_speaker(event, speaker)
    first = count_queries(app, lambda: client.get("/events/cached"))
    again = count_queries(app, lambda: client.get("/events/cached"))
    assert again < first
    assert again == 1  # only the check that nothing changed

    speaker.name = "Mahel Coppey-Renommée"
    database.session.commit()
    assert "Mahel Coppey-Renommée" in page(client, "/events/cached")[1]
    event.title = "Après"
    database.session.commit()
    assert "<h1>Après</h1>" in page(client, "/events/cached")[1]


def test_the_cached_page_follows_the_registration_window(app, client):
    from eventapp.extensions import db as database

    event = make_event(slug="window")
    assert "Je m'inscris" in page(client, "/events/window")[1]
    event.registration_closes_at = now_utc() - timedelta(minutes=1)
    database.session.commit()
    assert "Les inscriptions sont closes depuis le" in page(client, "/events/window")[1]


def test_a_cache_hit_is_answered_without_running_the_app(app, client):
    make_event(slug="kept")
    views_run = []
    app.before_request(lambda: views_run.append(1))
    assert page(client, "/events/kept")[0].status_code == 200
    assert views_run == [1]
    again, html = page(client, "/events/kept")
    assert again.status_code == 200 and "Je m'inscris" in html
    assert views_run == [1]  # the middleware answered
    # The security headers came with the kept copy.
    assert "frame-ancestors 'none'" in again.headers["Content-Security-Policy"]


def test_each_language_and_address_is_kept_apart(client):
    make_event(slug="bilingue")
    assert '<html lang="fr"' in page(client, "/events/bilingue")[1]
    assert '<html lang="en"' in page(client, "/events/bilingue", lang="en")[1]
    assert '<html lang="fr"' in page(client, "/events/bilingue")[1]
    client.set_cookie("lang", "en")
    assert '<html lang="en"' in page(client, "/events/bilingue")[1]
    assert page(client, "/events/bilingue?utm_source=lettre")[0].status_code == 200


def test_a_message_waiting_in_the_session_is_shown_on_a_cached_page(client):
    make_event(slug="flash")
    page(client, "/events/flash")  # kept
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "Votre inscription est annulée.")]
    assert "Votre inscription est annulée." in page(client, "/events/flash")[1]
    assert "Votre inscription est annulée." not in page(client, "/events/flash")[1]  # shown once


def test_a_kept_page_expires_when_the_clock_closes_registration(client, monkeypatch):
    import eventapp.events.views
    import eventapp.site.pagecache

    closes = now_utc() + timedelta(hours=1)
    make_event(slug="horloge", registration_closes_at=closes)
    assert "Je m'inscris" in page(client, "/events/horloge")[1]
    later = closes + timedelta(seconds=1)
    for module in (eventapp.site.pagecache, eventapp.events.views):
        monkeypatch.setattr(module, "now_utc", lambda: later)
    assert "Les inscriptions sont closes depuis le" in page(client, "/events/horloge")[1]


def test_the_next_change_of_a_registration_window():
    now = now_utc()
    window = RegistrationWindow(
        EventStatus.PUBLISHED,
        now + timedelta(days=3),
        now - timedelta(days=1),
        now + timedelta(days=2),
    )
    assert window.next_change(now) == now + timedelta(days=2)
    assert window.next_change(now + timedelta(days=2)) == now + timedelta(days=3)
    assert window.next_change(now + timedelta(days=3)) is None
    cancelled = RegistrationWindow(EventStatus.CANCELLED, now + timedelta(days=3), None, None)
    assert cancelled.next_change(now) is None


def test_a_response_that_sets_a_cookie_is_never_kept(app, client):
    from flask import make_response

    from eventapp.site.pagecache import content_version, keep_response

    runs = []

    def personal():
        runs.append(1)
        keep_response(content_version(), None)
        response = make_response("à vous seul")
        response.set_cookie("mine", "1")
        return response

    app.add_url_rule("/personal", "personal", personal)
    client.get("/personal")
    client.get("/personal")
    assert runs == [1, 1]


def test_a_database_error_on_a_hit_lets_the_app_answer(app, client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import eventapp.site.pagecache

    make_event(slug="panne")
    views_run = []
    app.before_request(lambda: views_run.append(1))
    page(client, "/events/panne")

    def down():
        raise OperationalError("SELECT value FROM content_version", {}, Exception("gone"))

    # The middleware's check fails; the view, run next, reads the version as before.
    version = eventapp.site.pagecache.content_version()
    monkeypatch.setattr(eventapp.site.pagecache, "_read_version", lambda _connection: down())
    monkeypatch.setattr(eventapp.events.views, "content_version", lambda: version)
    response, _ = page(client, "/events/panne")
    assert views_run == [1, 1]  # not answered by the middleware: Flask ran, with its error pages
    assert response.status_code == 200


def test_an_encoded_question_mark_is_another_address(client):
    make_event(slug="x")
    assert page(client, "/events/x?b?")[0].status_code == 200  # kept under /events/x, query "b?"
    assert page(client, "/events/x%3Fb")[0].status_code == 404


def test_the_first_of_the_month_is_written_1er_in_french(client):
    make_event(slug="nouvel-an", starts_at=datetime(2026, 1, 1, 12, 30, tzinfo=UTC))
    assert "jeudi 1er janvier 2026, 13 h 30" in page(client, "/events/nouvel-an")[1]
    assert "Thursday, January 1, 2026" in page(client, "/events/nouvel-an", lang="en")[1]
