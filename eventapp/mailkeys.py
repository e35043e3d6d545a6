"""Every outbox dedupe key, built here and nowhere else: one key names one mail, for ever.

The outbox inserts a mail only if its key is new, so a key says what makes two sends the same
mail: a double click or a second worker finds the key taken. Code that needs the mails of a
registration asks the outbox by its `registration_id` column, never by parsing keys.
"""

from __future__ import annotations

from datetime import datetime


def _at(now: datetime) -> int:
    """A send's second: a double click within it sends one mail, a later request another."""
    return int(now.timestamp())


def registration(registration_id: int, what: str) -> str:
    """A mail about one registration: what is "confirmation", "promotion", "waitlist"…"""
    return f"registration:{registration_id}:{what}"


def registration_links(registration_id: int, now: datetime) -> str:
    """The "your links" mail sent again at the person's request."""
    return registration(registration_id, f"links:{_at(now)}")


def reminder(registration_id: int, offset_minutes: int) -> str:
    """The reminder of one registration for the window opening offset_minutes before."""
    return registration(registration_id, f"reminder-{offset_minutes}")


def event_update(registration_id: int, ics_sequence: int) -> str:
    """The notice of one change of the event (its invite's SEQUENCE)."""
    return registration(registration_id, f"update:{ics_sequence}")


def organiser_message(registration_id: int, send_id: str) -> str:
    """One organiser message to a registrant; send_id comes from the form, once per send."""
    return registration(registration_id, f"message:{send_id}")


def aftermath(registration_id: int) -> str:
    """The one mail after the event (thanks or "you could not come"), whichever it was."""
    return registration(registration_id, "aftermath")


def followup_for_registrant(sheet_id: int, registration_id: int) -> str:
    """The mail announcing a released sheet to a registrant of one of its kit's events."""
    return f"sheet:{sheet_id}:r{registration_id}"


def followup_for_subscriber(sheet_id: int, subscriber_id: int) -> str:
    """The mail announcing a released sheet to a kit-only subscriber."""
    return f"sheet:{sheet_id}:s{subscriber_id}"


def kit_subscription_confirmation(subscriber_id: int, now: datetime) -> str:
    """The mail asking a kit subscriber to confirm their address."""
    return f"kit-subscription:{subscriber_id}:confirm:{_at(now)}"


def press_inquiry_to_contact(inquiry_id: int, contact_id: int) -> str:
    """A press inquiry forwarded to one press contact."""
    return f"press-inquiry:{inquiry_id}:contact:{contact_id}"


def press_inquiry_to_organisation(inquiry_id: int) -> str:
    """A press inquiry forwarded to the organisation, when there is no press contact."""
    return f"press-inquiry:{inquiry_id}:organisation"


def press_inquiry_ack(inquiry_id: int) -> str:
    """The acknowledgement sent to the journalist."""
    return f"press-inquiry:{inquiry_id}:ack"
