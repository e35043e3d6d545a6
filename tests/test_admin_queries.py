"""List pages run a fixed number of SQL statements, whatever the number of rows (no N+1)."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest

from eventapp.audit.services import record
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.services import enqueue
from eventapp.press.models import PressAttachment, PressContact, PressInquiry, PressRelease
from tests.admin_helpers import (  # noqa: F401 - cheap_hashing is an autouse fixture
    QueryCounter,
    cheap_hashing,
    make_user,
    register,
    signed_in,
)
from tests.factories import add_speaker, make_event, make_speaker
from tests.kit_helpers import make_kit, make_sheet

_numbers = itertools.count(1)


def statements(app, client, url: str) -> int:
    client.get(url)  # warm up: the first request of an app loads more than the others
    with QueryCounter(db.engine) as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count


def add_events(count: int) -> None:
    for _ in range(count):
        event = make_event(capacity=10)
        speaker = make_speaker()
        add_speaker(event, speaker)
        register(event, "Camille Martin")


def add_registrations(event, count: int) -> None:
    for _ in range(count):
        register(event, "Camille Martin")


def add_speakers(count: int) -> None:
    event = make_event()
    for _ in range(count):
        add_speaker(event, make_speaker())


def add_mails(count: int) -> None:
    for _ in range(count):
        number = next(_numbers)
        enqueue(
            "message", f"m{number}@example.org", f"test:{number}", subject="Objet", body="Texte"
        )
    db.session.commit()


def add_kits(count: int) -> None:
    for _ in range(count):
        kit = make_kit()
        for number in (1, 2):
            make_sheet(kit, number, release_at=now_utc() + timedelta(days=number))


def add_releases(count: int) -> None:
    contact = PressContact(name="Martin Besnier", email="mbesnier@rtes.fr")
    for _ in range(count):
        number = next(_numbers)
        release = PressRelease(
            slug=f"communique-{number}",
            title="Communiqué",
            dateline_date=date(2021, 2, 22),
            event=make_event(),
            contacts=[contact],
        )
        release.attachments.append(
            PressAttachment(
                title="Dossier",
                original_name="d.pdf",
                stored_name=f"{number:032x}.pdf",
                content_type="application/pdf",
                size_bytes=10,
            )
        )
        db.session.add(release)
    db.session.commit()


def add_inquiries(count: int) -> None:
    release = PressRelease(slug=f"r-{next(_numbers)}", title="R", dateline_date=date(2021, 1, 1))
    for _ in range(count):
        db.session.add(
            PressInquiry(
                name="Claire",
                outlet="Média",
                email="c@example.org",
                subject="Question",
                message="Bonjour",
                release=release,
            )
        )
    db.session.commit()


def add_audit(count: int) -> None:
    for _ in range(count):
        record("event.update", details={"changed": {"title": ["a", "b"]}})
    db.session.commit()


def add_accounts(count: int) -> None:
    for _ in range(count):
        make_user()


# Each figure includes the read of the worker status, for the layout's warnings.
PAGES = {
    "events": ("/admin/events/", add_events, 5),
    "registrations": (None, add_registrations, 8),
    "speakers": ("/admin/speakers/", add_speakers, 5),
    "mails": ("/admin/mails/", add_mails, 6),
    "kits": ("/admin/kits/", add_kits, 4),
    "releases": ("/admin/press/", add_releases, 8),
    "inquiries": ("/admin/press/inquiries?status=all", add_inquiries, 6),  # + the page count
    "contacts": ("/admin/press/contacts", lambda n: None, 4),
    "audit": ("/admin/audit", add_audit, 5),
    "accounts": ("/admin/accounts/", add_accounts, 4),
    "dashboard": ("/admin/", add_kits, 7),
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_list_pages_run_a_fixed_number_of_statements(app, client, page):
    url, add_rows, pinned = PAGES[page]
    if url is None:
        event = make_event()
        url = f"/admin/events/{event.id}/registrations"
        add_rows = lambda n, add=add_rows: add(event, n)  # noqa: E731
    signed_in(client)
    add_rows(2)
    few = statements(app, client, url)
    add_rows(8)
    many = statements(app, client, url)
    assert few == many, f"{url}: {few} statements with few rows, {many} with more"
    assert many == pinned, f"{url}: now {many} statements; update the pinned figure if intended"
