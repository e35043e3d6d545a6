"""Kits: the release calendar, public pages and feeds, and follow-ups sent exactly once."""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import event as sql_event
from sqlalchemy import func, select

from eventapp.extensions import db
from eventapp.kits import services
from eventapp.kits.followups import preview_followup, release_due_sheets
from eventapp.kits.models import Sheet, UnsubscribeToken
from eventapp.models import now_utc
from eventapp.outbox.jobs import import_job_modules, registry
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.registrations.models import RegistrationStatus
from tests.factories import make_event
from tests.helpers import text
from tests.kit_helpers import (
    BEFORE,
    RELEASE,
    add_registrant,
    add_subscriber,
    followups,
    make_kit,
    make_sheet,
)

PARIS = ZoneInfo("Europe/Paris")
ATOM = "{http://www.w3.org/2005/Atom}"
UNSUBSCRIBE = re.compile(r"https://events\.test/unsubscribe/([A-Za-z0-9_-]{43})")


# --- visibility and the calendar ---------------------------------------------------------------


def test_a_sheet_is_public_only_once_its_release_time_has_passed(app):
    kit = make_kit()
    sheet = make_sheet(kit, 1, RELEASE)
    unscheduled = make_sheet(kit, 2, None)
    just_before = RELEASE - timedelta(seconds=1)

    assert services.released_sheets(kit, just_before) == []
    assert services.public_sheet(kit, 1, just_before) is None
    assert services.upcoming_sheets(kit, just_before) == [sheet]
    assert services.released_sheets(kit, RELEASE) == [sheet]
    assert services.public_sheet(kit, 1, RELEASE) == sheet
    assert services.upcoming_sheets(kit, RELEASE) == []
    # Never scheduled: neither public nor announced as coming; organisers still see it.
    assert services.public_sheet(kit, 2, RELEASE + timedelta(days=999)) is None
    assert services.organiser_sheets(kit) == [sheet, unscheduled]
    assert db.session.scalar(select(func.count()).where(Sheet.released(RELEASE))) == 1


def test_pages_list_released_sheets_newest_first_and_coming_ones_by_date(app, client):
    now = now_utc()
    kit = make_kit(title="Kit RégionalESS")
    make_sheet(kit, 1, now - timedelta(days=14), title="Pourquoi l'ESS", summary="Les raisons.")
    make_sheet(
        kit,
        2,
        now - timedelta(days=7),
        title="Tourisme et ESS",
        summary="Le tourisme.",
        file_name="0" * 32 + ".pdf",
        file_size=850_000,
    )
    make_sheet(kit, 3, datetime(2099, 3, 5, 13, 0, tzinfo=UTC), title="Numérique & ESS")

    page = text(client.get(f"/kits/{kit.slug}"))
    assert page.index("Tourisme et ESS") < page.index("Pourquoi l'ESS")  # newest first
    assert "Le tourisme." in page and "(PDF, 850 ko)" in page
    assert "0 téléchargement" not in page  # a count is shown once there is one
    assert f'href="/kits/{kit.slug}/sheets/2/download/fiche-02-tourisme-et-ess.pdf"' in page
    assert "Fiche n°3 « Numérique & ESS »" in page
    assert 'à paraître le <time datetime="2099-03-05">jeudi 5 mars 2099</time>' in page
    assert client.get(f"/kits/{kit.slug}/sheets/2").status_code == 200
    assert client.get(f"/kits/{kit.slug}/sheets/3").status_code == 404  # not out yet: no leak
    assert client.get(f"/kits/{kit.slug}/sheets/9").status_code == 404

    kit.show_upcoming_titles = False
    db.session.commit()
    page = text(client.get(f"/kits/{kit.slug}"))
    assert "Numérique" not in page and "Fiche n°3" in page and "jeudi 5 mars 2099" in page


def test_an_unpublished_kit_has_no_public_page(app, client):
    kit = make_kit(published=False)
    make_sheet(kit, 1, BEFORE)
    assert client.get(f"/kits/{kit.slug}").status_code == 404
    assert client.get(f"/kits/{kit.slug}/feed.atom").status_code == 404
    assert client.get("/kits").status_code == 200
    assert kit.title not in text(client.get("/kits"))


def test_schedule_weekly_keeps_the_wall_clock_time_across_daylight_saving(app):
    kit = make_kit()
    for number in (3, 1, 2, 4):
        make_sheet(kit, number, None)
    # Monday 22 March 2021 14:00 Paris, laid out on Thursdays: 25 March (UTC+1), then UTC+2.
    services.schedule_weekly(kit, datetime(2021, 3, 22, 14, 0, tzinfo=PARIS), weekday=3, now=BEFORE)
    db.session.commit()
    local = [s.release_at.astimezone(PARIS) for s in services.organiser_sheets(kit)]
    assert [d.strftime("%a %Y-%m-%d %H:%M") for d in local] == [
        "Thu 2021-03-25 14:00",
        "Thu 2021-04-01 14:00",
        "Thu 2021-04-08 14:00",
        "Thu 2021-04-15 14:00",
    ]
    assert services.organiser_sheets(kit)[0].release_at == datetime(2021, 3, 25, 13, 0, tzinfo=UTC)
    assert services.organiser_sheets(kit)[1].release_at == datetime(2021, 4, 1, 12, 0, tzinfo=UTC)


def test_schedule_weekly_leaves_announced_sheets_where_they_are(app):
    kit = make_kit()
    first = make_sheet(kit, 1, RELEASE)
    make_sheet(kit, 2, None)
    first.notified_at = RELEASE
    db.session.commit()
    services.schedule_weekly(kit, RELEASE + timedelta(weeks=1), now=RELEASE)
    db.session.commit()
    assert [s.release_at for s in services.organiser_sheets(kit)] == [
        RELEASE,
        RELEASE + timedelta(weeks=1),
    ]


# --- feeds -------------------------------------------------------------------------------------


def test_the_atom_feed_is_valid_and_lists_released_sheets_only(app, client):
    now = now_utc()
    kit = make_kit()
    make_sheet(kit, 1, now - timedelta(days=7), title="Tourisme et ESS", themes=["tourisme"])
    make_sheet(kit, 2, now + timedelta(days=7), title="Pas encore")

    response = client.get(f"/kits/{kit.slug}/feed.atom")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{name}") is not None, name
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links["self"] == f"https://events.test/kits/{kit.slug}/feed.atom"
    assert links["alternate"] == f"https://events.test/kits/{kit.slug}"
    (entry,) = feed.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == "Fiche n°1 « Tourisme et ESS »"
    assert entry.find(f"{ATOM}id").text == f"https://events.test/kits/{kit.slug}/sheets/1"
    updated = datetime.fromisoformat(entry.find(f"{ATOM}updated").text)
    assert updated >= now - timedelta(days=7, seconds=1)
    assert entry.find(f"{ATOM}category").get("term") == "tourisme"
    assert b"Pas encore" not in response.data


def test_the_calendar_feed_lists_release_dates_with_stable_uids(app, client):
    kit = make_kit(show_upcoming_titles=False)
    past = make_sheet(kit, 1, datetime(2021, 2, 25, 13, 0, tzinfo=UTC), title="Lancement")
    coming = make_sheet(kit, 2, datetime(2099, 3, 26, 23, 30, tzinfo=UTC), title="Secret")
    make_sheet(kit, 3, None)

    response = client.get(f"/kits/{kit.slug}/calendar.ics")
    assert response.mimetype == "text/calendar"
    assert b"\r\n" in response.data and b"\n" not in response.data.replace(b"\r\n", b"")
    calendar = Calendar.from_ical(response.data)
    assert str(calendar["METHOD"]) == "PUBLISH"
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {f"sheet-{past.id}@events.test", f"sheet-{coming.id}@events.test"}
    first = events[f"sheet-{past.id}@events.test"]
    assert first.decoded("DTSTART").isoformat() == "2021-02-25"
    assert first.decoded("DTEND").isoformat() == "2021-02-26"
    assert first.decoded("DTSTAMP").tzinfo is not None
    assert "Lancement" in str(first["SUMMARY"])
    second = events[f"sheet-{coming.id}@events.test"]
    assert second.decoded("DTSTART").isoformat() == "2099-03-27"  # the day in Paris, not UTC
    assert "Secret" not in str(second["SUMMARY"]) and "Fiche n°2" in str(second["SUMMARY"])

    services.reschedule_sheet(coming, datetime(2099, 4, 2, 12, 0, tzinfo=UTC))
    db.session.commit()
    again = Calendar.from_ical(client.get(f"/kits/{kit.slug}/calendar.ics").data)
    moved = {str(e["UID"]): e for e in again.walk("VEVENT")}[f"sheet-{coming.id}@events.test"]
    assert moved.decoded("DTSTART").isoformat() == "2099-04-02"


# --- follow-ups --------------------------------------------------------------------------------


def test_each_subscriber_gets_one_followup_and_nobody_else_gets_any(app):
    event, other_event = make_event(), make_event()
    kit = make_kit(event, other_event)
    sheet = make_sheet(kit, 1, RELEASE)
    W = RegistrationStatus.WAITLISTED
    wanted = [
        add_registrant(event, "confirmed@example.org"),
        add_registrant(event, "waiting.optin@example.org", status=W),  # asked for them
        add_registrant(other_event, "second.event@example.org"),
    ]
    add_registrant(event, "no.optin@example.org", wants=False)
    add_registrant(event, "waiting.only@example.org", status=W, wants=False)
    add_registrant(event, "cancelled@example.org", status=RegistrationStatus.CANCELLED)
    add_registrant(event, "erased@example.org", erased=True)
    add_registrant(event, "late@example.org", since=RELEASE + timedelta(minutes=1))
    add_registrant(make_event(), "other.kit@example.org")
    # One address through two events and the kit form: one mail, through its first registration.
    both = add_registrant(event, "Both@Example.org")
    add_registrant(other_event, "both@example.org")
    add_subscriber(kit, "both@example.org")
    kit_only = add_subscriber(kit, "kit.only@example.org")
    add_subscriber(kit, "pending@example.org", confirmed_at=None, status="pending")
    add_subscriber(kit, "too.late@example.org", confirmed_at=RELEASE + timedelta(seconds=1))

    assert release_due_sheets(RELEASE - timedelta(seconds=1)) == 0
    assert release_due_sheets(RELEASE + timedelta(seconds=30)) == 5
    db.session.commit()
    expected = {f"sheet:{sheet.id}:r{r.id}" for r in [*wanted, both]}
    expected.add(f"sheet:{sheet.id}:s{kit_only.id}")
    assert {m.dedupe_key for m in followups()} == expected
    assert sorted(m.to_address for m in followups()) == [
        "Both@Example.org",
        "confirmed@example.org",
        "kit.only@example.org",
        "second.event@example.org",
        "waiting.optin@example.org",
    ]
    assert db.session.get(Sheet, sheet.id).notified_at == RELEASE + timedelta(seconds=30)
    # Run again, later, and through the worker's registry: nothing more.
    assert release_due_sheets(RELEASE + timedelta(minutes=1)) == 0
    import_job_modules()
    assert registry.jobs["kit-sheet-releases"].run(RELEASE + timedelta(minutes=2)) == 0
    db.session.commit()
    assert len(followups()) == 5
    assert db.session.scalar(select(func.count()).select_from(UnsubscribeToken)) == 5


def test_a_followup_links_to_the_sheet_and_carries_one_click_unsubscribe(app, runner, smtp_server):
    # The outbox sends what is due by the clock: this release is a minute old.
    released = now_utc().replace(microsecond=0) - timedelta(minutes=1)
    kit = make_kit(title="Kit RégionalESS")
    make_sheet(
        kit,
        7,
        released,
        title="Tourisme et ESS",
        summary="Voyager autrement.",
        file_name="0" * 32 + ".pdf",
        file_size=1000,
    )
    since = released - timedelta(days=1)
    add_registrant(kit.events[0], "camille@example.org", name="Camille Martin", since=since)
    add_registrant(kit.events[0], "alex@example.org", locale="en", name="", since=since)
    assert release_due_sheets(released) == 2
    db.session.commit()

    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    assert smtp_server.wait_for(2)
    by_address = {str(m["To"]).split("<")[-1].rstrip(">"): m for m in smtp_server.messages}
    message = by_address["camille@example.org"]
    assert message["Subject"] == "Kit RégionalESS : nouvelle fiche n°7 « Tourisme et ESS »"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = UNSUBSCRIBE.fullmatch(str(message["List-Unsubscribe"]).strip("<>"))
    assert header, message["List-Unsubscribe"]
    body = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Bonjour Camille Martin," in body
    assert f"https://events.test/kits/{kit.slug}/sheets/7" in body
    download = f"https://events.test/kits/{kit.slug}/sheets/7/download/fiche-07-tourisme-et-ess.pdf"
    assert download in body
    assert header.group(0) in body and header.group(0) in html
    other = by_address["alex@example.org"]
    other_token = UNSUBSCRIBE.search(str(other["List-Unsubscribe"])).group(1)
    assert other_token != header.group(1)  # each person their own secret
    assert other.get_body(("plain",)).get_content().startswith(("Hello,", "Bonjour,"))
    # Only a hash of the secret is kept.
    stored = db.session.scalars(select(UnsubscribeToken.token_hash)).all()
    assert header.group(1) not in stored and len(stored) == 2


def test_editing_or_moving_an_announced_sheet_sends_nothing_again(app):
    kit = make_kit()
    sheet = make_sheet(kit, 1, RELEASE)
    add_registrant(kit.events[0], "camille@example.org")
    assert release_due_sheets(RELEASE) == 1
    db.session.commit()

    services.update_sheet(sheet, title="Nouveau titre", now=RELEASE + timedelta(hours=1))
    services.reschedule_sheet(sheet, RELEASE + timedelta(days=7))  # taken back for a week
    db.session.commit()
    assert services.public_sheet(kit, 1, RELEASE + timedelta(days=1)) is None
    assert release_due_sheets(RELEASE + timedelta(days=7, minutes=1)) == 0
    services.reschedule_sheet(sheet, RELEASE - timedelta(days=2))  # and earlier than ever
    db.session.commit()
    assert release_due_sheets(RELEASE + timedelta(days=8)) == 0
    assert len(followups()) == 1 and sheet.notified_at == RELEASE
    with pytest.raises(ValueError):
        services.update_sheet(sheet, notified_at=None)


def test_a_sheet_moved_earlier_before_its_release_is_announced_once_at_the_new_time(app):
    kit = make_kit()
    sheet = make_sheet(kit, 1, RELEASE)
    add_registrant(kit.events[0], "camille@example.org")
    earlier = RELEASE - timedelta(days=3)
    services.reschedule_sheet(sheet, earlier)
    db.session.commit()
    assert release_due_sheets(earlier + timedelta(minutes=1)) == 1
    assert release_due_sheets(RELEASE) == 0
    db.session.commit()
    assert len(followups()) == 1


def test_a_sheet_of_an_unpublished_kit_waits_for_the_kit(app):
    kit = make_kit(published=False)
    sheet = make_sheet(kit, 1, RELEASE)
    add_registrant(kit.events[0], "camille@example.org")
    assert release_due_sheets(RELEASE + timedelta(minutes=1)) == 0
    assert sheet.notified_at is None
    kit.published = True
    db.session.commit()
    assert release_due_sheets(RELEASE + timedelta(minutes=2)) == 1


def test_a_sheet_fallen_due_long_ago_is_not_announced(app):
    kit = make_kit()
    make_sheet(kit, 1, RELEASE - timedelta(days=30))
    add_registrant(kit.events[0], "camille@example.org", since=BEFORE - timedelta(days=60))
    assert release_due_sheets(RELEASE) == 0
    db.session.commit()
    assert followups() == []
    assert services.organiser_sheets(kit)[0].notified_at == RELEASE


def test_two_workers_at_once_announce_each_sheet_once(app):
    kit = make_kit()
    sheets = [make_sheet(kit, n, RELEASE + timedelta(seconds=n)) for n in (1, 2, 3)]
    for index in range(40):
        add_registrant(kit.events[0], f"person{index}@example.org")
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        with app.app_context():
            try:
                barrier.wait()
                results.append(release_due_sheets(RELEASE + timedelta(minutes=1)))
                db.session.commit()
            except BaseException as error:  # reported below
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    db.session.expire_all()
    assert sum(results) == 120
    keys = [m.dedupe_key for m in followups()]
    assert len(keys) == len(set(keys)) == 120
    assert all(db.session.get(Sheet, s.id).notified_at is not None for s in sheets)
    assert db.session.scalar(select(func.count()).select_from(UnsubscribeToken)) == 120


def test_a_release_streams_its_subscribers_in_batches(app):
    app.config["KIT_RELEASE_BATCH_SIZE"] = 7  # reads and inserts interleave over several batches
    kit = make_kit()
    sheet = make_sheet(kit, 1, RELEASE)
    for index in range(25):
        add_registrant(kit.events[0], f"person{index}@example.org")
    for index in range(5):
        add_subscriber(kit, f"reader{index}@example.org")
    assert release_due_sheets(RELEASE) == 30
    db.session.commit()
    keys = {m.dedupe_key for m in followups()}
    assert len(keys) == 30 and all(key.startswith(f"sheet:{sheet.id}:") for key in keys)
    tokens = db.session.scalars(select(UnsubscribeToken)).all()
    assert len({t.token_hash for t in tokens}) == 30
    assert sum(t.registration_id is not None for t in tokens) == 25


def test_the_preview_shows_the_mail_before_it_goes_out(app):
    kit = make_kit(title="Kit RégionalESS")
    sheet = make_sheet(kit, 11, RELEASE, title="Commande publique responsable")
    mail = preview_followup(sheet)
    assert "Commande publique responsable" in mail.subject
    assert "https://events.test/unsubscribe/" in mail.text
    assert followups() == []


# --- unsubscribing -----------------------------------------------------------------------------


def _token_of(message: OutboxMessage) -> str:
    return UNSUBSCRIBE.search(message.headers["List-Unsubscribe"]).group(1)


def test_one_click_post_unsubscribes_at_once_without_cookie_or_csrf_token(app, client):
    event, other_event = make_event(), make_event()
    kit = make_kit(event, other_event)
    make_sheet(kit, 1, RELEASE)
    make_sheet(kit, 2, RELEASE + timedelta(days=7))
    make_sheet(kit, 3, RELEASE + timedelta(days=14))
    camille = add_registrant(event, "camille@example.org")
    camille_too = add_registrant(other_event, "Camille@example.org")
    add_registrant(event, "alex@example.org")
    release_due_sheets(RELEASE)
    release_due_sheets(RELEASE + timedelta(days=7))
    db.session.commit()
    mine = [m for m in followups() if m.to_address == "camille@example.org"]
    assert len(mine) == 2  # weeks 1 and 2, not sent yet

    # A mail client's RFC 8058 POST: no cookie, no CSRF token, the one-click body.
    response = client.post(
        f"/unsubscribe/{_token_of(mine[0])}",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Désabonnement effectué" in text(response)
    db.session.expire_all()
    assert not camille.wants_followups and not camille_too.wants_followups
    statuses = {m.to_address: set() for m in followups()}
    for message in followups():
        statuses[message.to_address].add(message.status)
    assert statuses == {
        "camille@example.org": {OutboxStatus.CANCELLED},  # withdrawn before the worker sent them
        "alex@example.org": {OutboxStatus.PENDING},
    }
    assert release_due_sheets(RELEASE + timedelta(days=14)) == 1  # alex only
    db.session.commit()
    week3_prefix = f"sheet:{kit.sheets[2].id}:"
    week3 = [m.to_address for m in followups() if m.dedupe_key.startswith(week3_prefix)]
    assert week3 == ["alex@example.org"]
    # Again: still fine, nothing to do.
    assert client.post(f"/unsubscribe/{_token_of(mine[1])}").status_code == 200


def test_unsubscribing_withdraws_the_pending_mails_in_one_pass(app, client):
    event, other_event = make_event(), make_event()
    kit = make_kit(event, other_event)
    make_sheet(kit, 1, RELEASE)
    add_registrant(event, "camille@example.org")
    add_registrant(other_event, "camille@example.org")
    release_due_sheets(RELEASE)
    db.session.commit()
    token = _token_of(followups()[0])
    outbox_updates = []

    def count_outbox_updates(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE OUTBOX"):
            outbox_updates.append(statement)

    sql_event.listen(db.engine, "before_cursor_execute", count_outbox_updates)
    try:
        assert client.post(f"/unsubscribe/{token}").status_code == 200
    finally:
        sql_event.remove(db.engine, "before_cursor_execute", count_outbox_updates)
    # Two registrations of the address, one walk: kits withdraws the follow-ups once.
    assert len(outbox_updates) == 1
    assert {m.status for m in followups()} == {OutboxStatus.CANCELLED}


def test_get_on_the_unsubscribe_link_only_shows_a_button(app, client):
    kit = make_kit()
    make_sheet(kit, 1, RELEASE)
    camille = add_registrant(kit.events[0], "camille@example.org")
    release_due_sheets(RELEASE)
    db.session.commit()
    token = _token_of(followups()[0])
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert f'<form method="post" action="/unsubscribe/{token}">' in text(page)
    assert page.headers["Cache-Control"] == "no-store"
    db.session.expire_all()
    assert camille.wants_followups  # a link scanner's visit unsubscribes no one
    assert client.post("/unsubscribe/not-a-real-token").status_code == 404
    assert client.get("/unsubscribe/" + "x" * 300).status_code == 404


def test_a_kit_only_subscriber_is_forgotten_when_unsubscribing(app, client):
    kit = make_kit()
    make_sheet(kit, 1, RELEASE)
    subscriber = add_subscriber(kit, "reader@example.org")
    release_due_sheets(RELEASE)
    db.session.commit()
    token = _token_of(followups()[0])
    assert client.post(f"/unsubscribe/{token}").status_code == 200
    db.session.expire_all()
    assert subscriber.status == "unsubscribed"
    assert subscriber.email == "" and subscriber.email_key is None
    # The link of an old mail still answers.
    assert client.post(f"/unsubscribe/{token}").status_code == 200


def test_an_erased_or_opted_out_registrant_gets_nothing_more(app):
    from eventapp.kits.followups import drop_registration_followups
    from eventapp.registrations.services import erase_registration, set_followups

    kit = make_kit()
    make_sheet(kit, 1, RELEASE)
    make_sheet(kit, 2, RELEASE + timedelta(days=7))
    erased = add_registrant(kit.events[0], "erased@example.org")
    opted_out = add_registrant(kit.events[0], "opted.out@example.org")
    release_due_sheets(RELEASE)
    db.session.commit()
    assert len(followups()) == 2

    erase_registration(erased, now=RELEASE + timedelta(hours=1))
    set_followups(opted_out, False, now=RELEASE + timedelta(hours=1))
    db.session.commit()
    # Erasing and opting out withdrew the queued follow-ups already: nothing is left to drop.
    assert drop_registration_followups(erased) == 0
    assert drop_registration_followups(opted_out) == 0
    assert {m.status for m in followups()} == {OutboxStatus.CANCELLED}
    assert release_due_sheets(RELEASE + timedelta(days=7)) == 0


def test_the_schedule_and_release_commands(app, runner):
    kit = make_kit()
    for number in (1, 2):
        make_sheet(kit, number, None)
    result = runner.invoke(
        args=["kits", "schedule", kit.slug, "2021-02-22 14:00", "--weekday", "thursday"]
    )
    assert result.exit_code == 0, result.output
    assert "2021-02-25 14:00" in result.output and "2021-03-04 14:00" in result.output
    db.session.expire_all()
    assert services.organiser_sheets(kit)[0].release_at == datetime(2021, 2, 25, 13, 0, tzinfo=UTC)
    released = runner.invoke(args=["kits", "release-due"])
    assert released.exit_code == 0 and "0 follow-up(s) queued" in released.output
    db.session.expire_all()
    # Fallen due years ago: marked announced, nobody mailed.
    assert all(s.notified_at is not None for s in services.organiser_sheets(kit))
    assert runner.invoke(args=["kits", "schedule", "nope", "2021-02-22 14:00"]).exit_code != 0
