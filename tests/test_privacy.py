"""Data protection: the retention purges at a fixed time, the job, and the privacy and
accessibility pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from eventapp import mailkeys
from eventapp.audit.models import AuditLog
from eventapp.audit.services import record
from eventapp.extensions import db
from eventapp.kits.followups import release_due_sheets
from eventapp.kits.models import KitSubscriber, SubscriptionStatus, UnsubscribeToken
from eventapp.outbox.jobs import import_job_modules, job_modules, registry
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.outbox.services import Attachment, enqueue
from eventapp.press.models import InquiryStatus, PressInquiry
from eventapp.privacy import services as privacy
from eventapp.registrations import services as registrations
from eventapp.registrations.models import (
    Registration,
    RegistrationStatus,
    RegistrationToken,
    TokenPurpose,
)
from eventapp.tokens import new_token
from tests.factories import make_event
from tests.helpers import text
from tests.kit_helpers import make_kit, make_sheet

NOW = datetime(2030, 6, 1, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def register(event, name: str, email: str, followups: bool = True) -> Registration:
    """Register through the service, a month before the event, as the form would."""
    applicant = registrations.Applicant(
        full_name=name,
        email=email,
        organisation="Ville de Lille",
        category="agent",
        wants_followups=followups,
        utm={"utm_source": "newsletter"},
        referrer="https://www.example.org/agenda",
    )
    registration = registrations.register_attendee(event, applicant, event.starts_at - 30 * DAY)
    db.session.commit()
    return registration


def ended_event(days_before_now: float):
    """Add an event that ended this many days before NOW."""
    ends_at = NOW - timedelta(days=days_before_now)
    return make_event(starts_at=ends_at - timedelta(minutes=30))


def mark_sent(at: datetime) -> None:
    db.session.execute(
        OutboxMessage.__table__.update()
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENT, sent_at=at)
    )
    db.session.commit()


# --- registrations ---------------------------------------------------------------------------


@pytest.fixture
def two_events(app):
    """One event past its retention (3 years and a day), one just within it, each with people."""
    retention = app.config["REGISTRATION_RETENTION_DAYS"]
    old = ended_event(retention + 1)
    recent = ended_event(retention - 1)
    kit = make_kit(old)
    sheet = make_sheet(kit, release_at=NOW - DAY)
    people = {
        "old_confirmed": register(old, "Anne Martin", "anne@example.org"),
        "old_cancelled": register(old, "Bruno Petit", "bruno@example.org"),
        "recent": register(recent, "Anne Martin", "anne@example.org"),
    }
    registrations.cancel_registration(people["old_cancelled"], old.starts_at - 20 * DAY)
    db.session.commit()
    mark_sent(old.starts_at - 20 * DAY)
    # A follow-up still queued for the old registrant, and the unsubscribe link it carries.
    registrant = people["old_confirmed"]
    enqueue(
        "kit_sheet_released",
        registrant.email,
        mailkeys.followup_for_registrant(sheet.id, registrant.id),
        registration_id=registrant.id,
        to_name=registrant.full_name,
        now=NOW - DAY,
        kit=kit,
        sheet=sheet,
        kit_url="https://events.test/kits/k",
        sheet_url="https://events.test/kits/k/sheets/1",
        download_url="https://events.test/kits/k/sheets/1/download/f.pdf",
        unsubscribe_url="https://events.test/unsubscribe/x",
    )
    db.session.add(
        UnsubscribeToken(token_hash=new_token()[1], kit_id=kit.id, registration_id=registrant.id)
    )
    db.session.commit()
    return old, recent, people


def test_registrations_past_their_retention_are_anonymised_and_keep_their_status(app, two_events):
    old, recent, people = two_events
    total = count(Registration)

    anonymised = privacy.anonymise_past_registrations(NOW)
    db.session.commit()

    assert anonymised == 2
    assert count(Registration) == total  # the counts survive
    for key, status in (("old_confirmed", "confirmed"), ("old_cancelled", "cancelled")):
        row = db.session.get(Registration, people[key].id)
        assert row.status == status
        assert (row.full_name, row.email, row.email_key, row.organisation) == ("", "", None, "")
        assert (row.utm, row.referrer, row.wants_followups) == ({}, "", False)
        assert row.erased_at == NOW
        assert row.category == "agent" and row.created_at is not None  # not personal: kept
    assert (
        count(
            RegistrationToken,
            RegistrationToken.registration_id.in_(
                [people["old_confirmed"].id, people["old_cancelled"].id]
            ),
        )
        == 0
    )
    assert count(UnsubscribeToken) == 0


def test_the_mails_of_anonymised_registrations_forget_the_person(app, two_events):
    old, _recent, people = two_events
    registrant = people["old_confirmed"]

    privacy.anonymise_past_registrations(NOW)
    db.session.commit()

    theirs = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.dedupe_key.startswith(f"registration:{registrant.id}:")
            | OutboxMessage.dedupe_key.endswith(f":r{registrant.id}")
        )
    ).all()
    assert {m.kind for m in theirs} == {"registration_confirmed", "kit_sheet_released"}
    for message in theirs:
        assert (message.to_address, message.to_name, message.text_body, message.html_body) == (
            "",
            "",
            "",
            "",
        )
        assert message.calendar is None
    followup = next(m for m in theirs if m.kind == "kit_sheet_released")
    assert followup.status == OutboxStatus.CANCELLED  # it never leaves
    confirmation = next(m for m in theirs if m.kind == "registration_confirmed")
    assert confirmation.status == OutboxStatus.SENT and confirmation.sent_at is not None


def test_registrations_within_their_retention_are_untouched(app, two_events):
    _old, _recent, people = two_events
    recent = people["recent"]
    tokens = count(RegistrationToken, RegistrationToken.registration_id == recent.id)

    privacy.anonymise_past_registrations(NOW)
    db.session.commit()

    row = db.session.get(Registration, recent.id)
    assert (row.full_name, row.email, row.erased_at) == ("Anne Martin", "anne@example.org", None)
    assert tokens == 2  # the attendee space and the connection link
    assert count(RegistrationToken, RegistrationToken.registration_id == recent.id) == tokens
    # Same address, other registration: its mail keeps its addressee.
    assert (
        count(
            OutboxMessage,
            OutboxMessage.dedupe_key.startswith(f"registration:{recent.id}:"),
            OutboxMessage.to_address == "anne@example.org",
        )
        == 1
    )


def test_the_registration_purge_is_idempotent(app, two_events):
    assert privacy.anonymise_past_registrations(NOW) == 2
    db.session.commit()
    assert privacy.anonymise_past_registrations(NOW + DAY) == 0
    db.session.commit()
    erased = db.session.scalars(select(Registration.erased_at).where(Registration.email == ""))
    assert set(erased) == {NOW}  # the second run did not touch them


def test_an_erasure_still_forgets_the_person_the_same_way(app):
    event = make_event()
    registration = register(event, "Chloé Roux", "chloe@example.org")
    registrations.erase_registration(registration)
    db.session.commit()
    row = db.session.get(Registration, registration.id)
    assert row.status == RegistrationStatus.CANCELLED
    assert (row.full_name, row.email, row.email_key, row.erased_at is not None) == (
        "",
        "",
        None,
        True,
    )
    assert count(RegistrationToken, RegistrationToken.registration_id == registration.id) == 0


def test_an_erasure_forgets_the_person_in_every_mail_about_them_follow_ups_included(app):
    event = make_event(starts_at=NOW + 10 * DAY)
    sheet = make_sheet(make_kit(event), release_at=NOW - timedelta(hours=1))
    registration = register(event, "Chloé Roux", "chloe@example.org")
    assert release_due_sheets(NOW) == 1
    mark_sent(NOW)
    registrations.erase_registration(registration)
    db.session.commit()

    theirs = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.to_address == "chloe@example.org")
    ).all()
    assert theirs == []
    followup = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.dedupe_key == mailkeys.followup_for_registrant(sheet.id, registration.id)
        )
    )
    assert (followup.to_address, followup.text_body, followup.status) == ("", "", "sent")


# --- press inquiries -------------------------------------------------------------------------


def make_inquiry(created_at: datetime, **fields) -> PressInquiry:
    values = {
        "name": "Léa Durand",
        "outlet": "La Voix du Nord",
        "email": "lea@journal.example",
        "phone": "+33 6 12 34 56 78",
        "subject": "Interview",
        "message": "Bonjour,\nPourrais-je interviewer la présidente ?",
        "created_at": created_at,
        "status": InquiryStatus.HANDLED,
    }
    values.update(fields)
    inquiry = PressInquiry(**values)
    db.session.add(inquiry)
    db.session.commit()
    return inquiry


def test_press_inquiries_older_than_their_retention_are_blanked(app):
    days = app.config["PRESS_INQUIRY_RETENTION_DAYS"]
    old = make_inquiry(NOW - timedelta(days=days) - DAY)
    recent = make_inquiry(NOW - timedelta(days=days) + DAY)

    assert privacy.blank_old_press_inquiries(NOW) == 1
    db.session.commit()

    old = db.session.get(PressInquiry, old.id)
    assert (old.name, old.email, old.phone, old.message) == ("", "", "", "")
    assert (old.outlet, old.subject, old.status) == ("La Voix du Nord", "Interview", "handled")
    recent = db.session.get(PressInquiry, recent.id)
    assert recent.email == "lea@journal.example" and recent.message.startswith("Bonjour")
    assert count(PressInquiry) == 2
    assert privacy.blank_old_press_inquiries(NOW) == 0  # idempotent


def test_the_press_retention_follows_its_setting(app):
    app.config["PRESS_INQUIRY_RETENTION_DAYS"] = 30
    inquiry = make_inquiry(NOW - 31 * DAY)
    assert privacy.blank_old_press_inquiries(NOW) == 1
    db.session.commit()
    assert db.session.get(PressInquiry, inquiry.id).name == ""


# --- mails -----------------------------------------------------------------------------------


def queue_mail(
    key: str, *, status: OutboxStatus, created_at: datetime, sent_at: datetime | None = None
) -> OutboxMessage:
    message = enqueue(
        "message",
        "jeanne@example.org",
        key,
        to_name="Jeanne Roux",
        reply_to="press@example.org",
        headers={"List-Unsubscribe": "<https://events.test/unsubscribe/secret>"},
        attachments=[Attachment("fiche.pdf", "application/pdf", b"%PDF-1.7 fiche")],
        calendar=b"BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n",
        now=created_at,
        subject="Bonjour Jeanne Roux",
        body="Votre message",
        event=None,
        registration=None,
    )
    message.status = status
    message.sent_at = sent_at
    message.last_error = "550 5.1.1 <jeanne@example.org>: unknown" if status == "failed" else None
    db.session.commit()
    return message


@pytest.fixture
def mails(app):
    days = timedelta(days=app.config["MAIL_BODY_RETENTION_DAYS"])
    long_ago, lately = NOW - days - DAY, NOW - days + DAY
    return {
        "sent_long_ago": queue_mail(
            "a", status=OutboxStatus.SENT, created_at=long_ago, sent_at=long_ago
        ),
        # Queued long ago, sent lately (a retry): counted from the sending.
        "sent_lately": queue_mail(
            "b", status=OutboxStatus.SENT, created_at=long_ago, sent_at=lately
        ),
        "failed_long_ago": queue_mail("c", status=OutboxStatus.FAILED, created_at=long_ago),
        "cancelled_long_ago": queue_mail("d", status=OutboxStatus.CANCELLED, created_at=long_ago),
        "pending": queue_mail("e", status=OutboxStatus.PENDING, created_at=long_ago),
    }


def test_mails_finished_over_the_retention_ago_lose_content_and_addressee(app, mails):
    before = {
        name: (m.kind, m.status, m.created_at, m.sent_at, m.dedupe_key, m.message_id)
        for name, m in mails.items()
    }

    assert privacy.blank_old_mails(NOW) == 3
    db.session.commit()

    for name in ("sent_long_ago", "failed_long_ago", "cancelled_long_ago"):
        message = db.session.get(OutboxMessage, mails[name].id)
        assert (message.to_address, message.to_name, message.reply_to) == ("", "", None)
        assert (message.subject, message.text_body, message.html_body) == ("", "", "")
        assert (message.calendar, message.attachments, message.headers) == (None, [], {})
        assert message.last_error is None
        kept = (
            message.kind,
            message.status,
            message.created_at,
            message.sent_at,
            message.dedupe_key,
            message.message_id,
        )
        assert kept == before[name]
    for name in ("sent_lately", "pending"):
        message = db.session.get(OutboxMessage, mails[name].id)
        assert message.to_address == "jeanne@example.org"
        assert "Votre message" in message.text_body and message.attachments


def test_the_mail_purge_is_idempotent_and_counts_nothing_twice(app, mails):
    assert privacy.blank_old_mails(NOW) == 3
    db.session.commit()
    assert privacy.blank_old_mails(NOW) == 0
    assert count(OutboxMessage) == 5


# --- kit subscribers -------------------------------------------------------------------------


def test_ended_kit_subscriptions_never_keep_an_address(app):
    kit = make_kit()
    left_behind = KitSubscriber(
        kit=kit,
        email="old@example.org",
        email_key="old@example.org",
        status=SubscriptionStatus.UNSUBSCRIBED,
        confirm_token_hash="f" * 64,
        unsubscribed_at=NOW - DAY,
        created_at=NOW - 9 * DAY,
    )
    active = KitSubscriber(
        kit=kit,
        email="on@example.org",
        email_key="on@example.org",
        status=SubscriptionStatus.ACTIVE,
        created_at=NOW - 9 * DAY,
        confirmed_at=NOW - 8 * DAY,
    )
    db.session.add_all([left_behind, active])
    db.session.commit()

    assert privacy.forget_unsubscribed(NOW) == 1
    db.session.commit()

    row = db.session.get(KitSubscriber, left_behind.id)
    assert (row.email, row.email_key, row.confirm_token_hash) == ("", None, None)
    assert row.status == SubscriptionStatus.UNSUBSCRIBED and row.unsubscribed_at is not None
    assert db.session.get(KitSubscriber, active.id).email == "on@example.org"
    assert privacy.forget_unsubscribed(NOW) == 0


# --- the audit log ---------------------------------------------------------------------------


def audit(at: datetime, name: str) -> AuditLog:
    """Add an entry naming a registrant, written `at`, as the back office would."""
    entry = record("registration.cancel", None, label=name, details={"mails": 1}, now=at)
    db.session.commit()
    return entry


def test_audit_entries_past_their_retention_are_deleted_and_recent_ones_stay(app):
    days = timedelta(days=app.config["AUDIT_LOG_RETENTION_DAYS"])
    old = audit(NOW - days - DAY, "Anne Martin")
    oldest = audit(NOW - 3 * days, "Bruno Petit")
    on_the_cutoff = audit(NOW - days, "Chloé Roux")
    recent = audit(NOW - DAY, "Anne Martin")
    old_id, oldest_id = old.id, oldest.id

    assert privacy.delete_old_audit_entries(NOW) == 2
    db.session.commit()

    assert db.session.get(AuditLog, old_id) is None
    assert db.session.get(AuditLog, oldest_id) is None
    assert db.session.get(AuditLog, on_the_cutoff.id).details["label"] == "Chloé Roux"
    assert db.session.get(AuditLog, recent.id).details == {"mails": 1, "label": "Anne Martin"}
    assert count(AuditLog) == 2


def test_the_audit_purge_is_idempotent(app):
    days = timedelta(days=app.config["AUDIT_LOG_RETENTION_DAYS"])
    audit(NOW - days - DAY, "Anne Martin")
    audit(NOW - DAY, "Anne Martin")
    assert privacy.delete_old_audit_entries(NOW) == 1
    db.session.commit()

    assert privacy.delete_old_audit_entries(NOW) == 0
    db.session.commit()
    assert count(AuditLog) == 1


def test_the_audit_retention_follows_its_setting(app):
    app.config["AUDIT_LOG_RETENTION_DAYS"] = 30
    audit(NOW - 31 * DAY, "Anne Martin")
    kept = audit(NOW - 29 * DAY, "Bruno Petit")
    assert privacy.delete_old_audit_entries(NOW) == 1
    db.session.commit()
    assert db.session.scalars(select(AuditLog.id)).all() == [kept.id]


# --- connection links ------------------------------------------------------------------------


def test_join_secrets_of_events_long_ended_are_deleted_and_manage_secrets_kept(app):
    days = app.config["JOIN_LINK_VALID_DAYS_AFTER_END"]
    expired = register(ended_event(days + 1), "Anne Martin", "anne@example.org")
    live = register(ended_event(days - 1), "Bruno Petit", "bruno@example.org")
    tokens = RegistrationToken.registration_id, RegistrationToken.purpose
    join = RegistrationToken.purpose == TokenPurpose.JOIN

    assert privacy.delete_expired_join_links(NOW) == 1
    db.session.commit()

    left = {tuple(row) for row in db.session.execute(select(*tokens))}
    assert left == {
        (expired.id, TokenPurpose.MANAGE),
        (live.id, TokenPurpose.MANAGE),
        (live.id, TokenPurpose.JOIN),
    }
    assert privacy.delete_expired_join_links(NOW) == 0
    assert count(RegistrationToken, join) == 1


# --- the worker job --------------------------------------------------------------------------


def test_the_worker_runs_the_retention_job_daily(app, two_events):
    assert job_modules() == [
        "eventapp.aftermath.jobs",
        "eventapp.kits.jobs",
        "eventapp.privacy.jobs",
        "eventapp.registrations.jobs",
        "eventapp.rooms.jobs",
    ]
    import_job_modules()
    job = registry.jobs["data-retention"]
    assert job.every == timedelta(days=1)
    make_inquiry(NOW - 400 * DAY)
    audit(NOW - 400 * DAY, "Anne Martin")
    audit(NOW - DAY, "Anne Martin")

    changed = job.run(NOW)
    db.session.commit()

    # Two registrations; the inquiry; the old audit entry; the old mails (3
    # confirmations/cancellation of the old event were sent years ago, the recent event's too);
    # the connection link of the recent event's registrant, which ended long ago.
    report_mails = count(OutboxMessage, OutboxMessage.subject == "")
    assert changed == 2 + 1 + 1 + report_mails + 1
    assert count(Registration, Registration.erased_at == NOW) == 2
    assert count(PressInquiry, PressInquiry.email == "") == 1
    assert count(AuditLog) == 1
    assert job.run(NOW) == 0


# --- pages -----------------------------------------------------------------------------------


def test_the_privacy_page_is_written_from_the_configuration(app, client):
    app.config.update(
        PRIVACY_CONTROLLER="RTES",
        PRIVACY_CONTACT="donnees@rtes.example",
        PRIVACY_DPO_NAME="Camille Bernard",
        PRIVACY_DPO_EMAIL="dpo@rtes.example",
        PRIVACY_RECIPIENTS=["Hébergeur : Exemple SAS, Roubaix (France)"],
        PRESS_INQUIRY_RETENTION_DAYS=730,
        MAIL_BODY_RETENTION_DAYS=60,
        AUDIT_LOG_RETENTION_DAYS=180,
        PRIVACY_UPDATED="2026-11-01",
    )
    response = client.get("/confidentialite")
    assert response.status_code == 200
    page = text(response)
    for expected in (
        "Responsable du traitement",
        "RTES",
        "Camille Bernard",
        "mailto:dpo@rtes.example",
        "donnees@rtes.example",
        "Hébergeur : Exemple SAS",
        "3 ans après la fin de l'événement",  # REGISTRATION_RETENTION_DAYS
        "2 ans, puis le nom",
        "60 jours après l'envoi",
        "180 jours, puis l'entrée est supprimée",  # AUDIT_LOG_RETENTION_DAYS
        "consentement",
        "intérêt légitime",
        "article 6.1.b",
        "rectifier",
        "effacer",
        "portabilité",
        "opposer",
        "retirer votre consentement",
        "CNIL",
        "3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07",
        'href="https://www.cnil.fr/fr/plaintes"',
        "1 novembre 2026",
    ):
        assert expected in page, expected
    headings = re.findall(r"<h([1-6])", page)
    assert headings[0] == "1" and "3" not in headings  # one h1, then h2s: no level skipped


def test_the_privacy_page_without_a_dpo_names_the_contact(app, client):
    app.config.update(PRIVACY_CONTACT="donnees@rtes.example")
    page = text(client.get("/confidentialite"))
    assert "Délégué" not in page
    assert "mailto:donnees@rtes.example" in page


def test_the_accessibility_statement_says_what_was_checked_and_how_to_complain(app, client):
    app.config.update(ACCESSIBILITY_CONTACT="accessibilite@rtes.example")
    response = client.get("/accessibilite")
    assert response.status_code == 200
    page = text(response)
    for expected in (
        "Déclaration d'accessibilité",
        "article 47 de la loi n° 2005-102",
        "non conforme",
        "RGAA",
        "version 4.1",
        "axe-core",
        "clavier",
        "21 novembre 2026",
        "mailto:accessibilite@rtes.example",
        "Défenseur des droits",
        "https://formulaire.defenseurdesdroits.fr/",
        "Libre réponse 71120",
    ):
        assert expected in page, expected


def test_an_audited_site_states_its_rate(app, client):
    app.config.update(ACCESSIBILITY_STATUS="full", ACCESSIBILITY_AUDIT_RATE=100)
    page = text(client.get("/accessibilite"))
    assert "totalement conforme" in page and "100 % des critères" in page
    assert "Accessibilité : totalement conforme" in page  # the footer follows


@pytest.mark.parametrize("url", ["/", "/press", "/kits", "/confidentialite", "/page-inconnue"])
def test_every_page_links_to_the_privacy_page_and_the_accessibility_statement(client, url):
    page = text(client.get(url))
    assert '<a href="/confidentialite"' in page and "Données personnelles</a>" in page
    assert '<a href="/accessibilite"' in page
    assert "Accessibilité : non conforme</a>" in page


def test_the_registration_notice_links_to_the_privacy_page(client):
    event = make_event()
    page = text(client.get(f"/events/{event.slug}/register"))
    notice = page[page.index('class="privacy-notice"') :]
    assert 'href="/confidentialite"' in notice
