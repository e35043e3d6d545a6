"""Data retention: forget people once their data has served its purpose, in set-based statements.

Each purge anonymises rather than deletes, so that counts (registrations per event, inquiries per
month, mails per status) still add up; each skips what it already blanked, so running it twice,
or from two workers at once, changes nothing more. The audit log is the exception: nothing counts
its entries, and one without who and what is worth nothing, so old entries are deleted. `now` is
a parameter, as everywhere.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, delete, or_, select, update

from eventapp.audit.models import AuditLog
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.kits.models import KitSubscriber, SubscriptionStatus
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.press.models import PressInquiry
from eventapp.registrations.models import Registration, RegistrationToken, TokenPurpose
from eventapp.registrations.retention import anonymise_registrations

# What a mail keeps once its retention ends: kind, status, dates, dedupe key, Message-ID.
BLANK_MAIL = {
    "to_address": "",
    "to_name": "",
    "reply_to": None,
    "subject": "",
    "text_body": "",
    "html_body": "",
    "calendar": None,
    "attachments": [],
    "headers": {},  # List-Unsubscribe carries a live secret
    "last_error": None,  # SMTP replies quote the address
}
FINISHED_MAIL = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.CANCELLED)


@dataclass
class RetentionReport:
    """How many rows each purge anonymised."""

    registrations: int = 0
    press_inquiries: int = 0
    mails: int = 0
    kit_subscribers: int = 0
    audit_entries: int = 0
    join_links: int = 0

    @property
    def total(self) -> int:
        return sum(asdict(self).values())


def _days(setting: str) -> timedelta:
    return timedelta(days=int(current_app.config[setting]))


def anonymise_past_registrations(now: datetime | None = None) -> int:
    """Anonymise the registrations to events that ended over REGISTRATION_RETENTION_DAYS ago."""
    now = now or now_utc()
    ended = select(Event.id).where(Event.ends_at < now - _days("REGISTRATION_RETENTION_DAYS"))
    return anonymise_registrations(Registration.event_id.in_(ended), now)


def blank_old_press_inquiries(now: datetime | None = None) -> int:
    """Blank the journalist's name, address, phone and message of inquiries over
    PRESS_INQUIRY_RETENTION_DAYS old; the outlet, subject, status and dates stay."""
    now = now or now_utc()
    cutoff = now - _days("PRESS_INQUIRY_RETENTION_DAYS")
    result = db.session.execute(
        update(PressInquiry)
        .where(
            PressInquiry.created_at < cutoff,
            or_(
                PressInquiry.name != "",
                PressInquiry.email != "",
                PressInquiry.phone != "",
                PressInquiry.message != "",
            ),
        )
        .values(name="", email="", phone="", message="")
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def blank_old_mails(now: datetime | None = None) -> int:
    """Blank the content and the addressee of mails finished over MAIL_BODY_RETENTION_DAYS ago.

    A mail is finished when sent (counted from sent_at), failed or cancelled (from created_at).
    The address goes with the body: the mail log has nothing left to show about it, and the
    record that keeps the person (a registration, a subscription) has its own retention.
    """
    now = now or now_utc()
    cutoff = now - _days("MAIL_BODY_RETENTION_DAYS")
    finished_long_ago = or_(
        and_(OutboxMessage.status == OutboxStatus.SENT, OutboxMessage.sent_at < cutoff),
        and_(
            OutboxMessage.status.in_((OutboxStatus.FAILED, OutboxStatus.CANCELLED)),
            OutboxMessage.created_at < cutoff,
        ),
    )
    not_blank = or_(
        OutboxMessage.to_address != "",
        OutboxMessage.to_name != "",
        OutboxMessage.reply_to.is_not(None),
        OutboxMessage.subject != "",
        OutboxMessage.text_body != "",
        OutboxMessage.html_body != "",
        OutboxMessage.calendar.is_not(None),
        OutboxMessage.last_error.is_not(None),
    )
    result = db.session.execute(
        update(OutboxMessage)
        .where(finished_long_ago, not_blank)
        .values(**BLANK_MAIL)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def forget_unsubscribed(now: datetime | None = None) -> int:
    """Make sure every ended kit subscription has forgotten its address and secret.

    Unsubscribing already does it at once; this catches any row left behind (an older version,
    a manual change), so that an ended subscription never keeps an address past one day.
    """
    result = db.session.execute(
        update(KitSubscriber)
        .where(
            KitSubscriber.status == SubscriptionStatus.UNSUBSCRIBED,
            or_(
                KitSubscriber.email != "",
                KitSubscriber.email_key.is_not(None),
                KitSubscriber.confirm_token_hash.is_not(None),
            ),
        )
        .values(email="", email_key=None, confirm_token_hash=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def delete_old_audit_entries(now: datetime | None = None) -> int:
    """Delete the back-office audit entries over AUDIT_LOG_RETENTION_DAYS old.

    Their labels and details name registrants, speakers, journalists and organisers, and the
    entry keeps the organiser's address after the account is gone.
    """
    now = now or now_utc()
    cutoff = now - _days("AUDIT_LOG_RETENTION_DAYS")
    result = db.session.execute(
        delete(AuditLog).where(AuditLog.at < cutoff).execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def delete_expired_join_links(now: datetime | None = None) -> int:
    """Delete the connection-link secrets of events that ended over JOIN_LINK_VALID_DAYS_AFTER_END
    ago: they no longer open anything, so keeping their hashes serves no purpose."""
    now = now or now_utc()
    ended = select(Registration.id).join(Event, Event.id == Registration.event_id)
    ended = ended.where(Event.ends_at < now - _days("JOIN_LINK_VALID_DAYS_AFTER_END"))
    result = db.session.execute(
        delete(RegistrationToken)
        .where(
            RegistrationToken.purpose == TokenPurpose.JOIN,
            RegistrationToken.registration_id.in_(ended),
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def apply_retention(now: datetime | None = None) -> RetentionReport:
    """Run every purge at `now`; the caller commits."""
    now = now or now_utc()
    report = RetentionReport(
        # The mails first: what is left for the registrations to forget is then only recent mail.
        mails=blank_old_mails(now),
        registrations=anonymise_past_registrations(now),
        press_inquiries=blank_old_press_inquiries(now),
        kit_subscribers=forget_unsubscribed(now),
        audit_entries=delete_old_audit_entries(now),
        join_links=delete_expired_join_links(now),
    )
    db.session.expire_all()
    return report
