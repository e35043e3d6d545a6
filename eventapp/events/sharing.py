"""What the event page tells other sites: share links, Open Graph values, schema.org JSON-LD.

Everything here is public: the page URL stands for the event everywhere, and the connection link
never appears, not even when the organiser made it public (a search result or a shared post
should send people to the page, where registration is).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import current_app
from flask_babel import get_locale, gettext
from markupsafe import Markup

from eventapp.events.models import Availability, Event, EventKind, EventStatus, Offer
from eventapp.i18n import format_span, og_locale
from eventapp.site.models import Organisation
from eventapp.site.services import absolute_url
from eventapp.speakers.models import Speaker

LINKEDIN_SHARE = "https://www.linkedin.com/sharing/share-offsite/?url="
# Share₂Fedi (s2f.kytta.dev) asks for the visitor's server and forwards the post from its own
# server side, so it works without JavaScript; the official share.joinmastodon.org needs it.
MASTODON_SHARE = "https://s2f.kytta.dev/?text="

ATTENDANCE_MODES = {
    EventKind.ONLINE: "https://schema.org/OnlineEventAttendanceMode",
    EventKind.IN_PERSON: "https://schema.org/OfflineEventAttendanceMode",
    EventKind.HYBRID: "https://schema.org/MixedEventAttendanceMode",
}

# What a JSON text must not hold inside <script>: "</script>", "<!--", and an "&" some parsers
# of the page's text would read as an entity.
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


@dataclass(frozen=True)
class EventPage:
    """The event page as other sites see it."""

    url: str
    description: str
    locale: str
    alternate_locales: list[str]
    image: str | None
    image_alt: str
    json_ld: Markup
    mail_share: str
    linkedin_share: str
    mastodon_share: str


def describe_event_page(
    event: Event, organisation: Organisation, availability: Availability | None = None
) -> EventPage:
    """Gather the page's address, summary, picture, JSON-LD and share links."""
    url = absolute_url("events.detail", slug=event.slug)
    description = event.summary or format_span(event.starts_at, event.ends_at, event.tz)
    locale = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    pictured = pictured_speaker(event)
    image = pictured and absolute_url("speaker_photos.photo", name=pictured.photo_filename)
    return EventPage(
        url=url,
        description=description,
        locale=og_locale(locale),
        alternate_locales=[
            og_locale(code) for code in current_app.config["LANGUAGES"] if code != locale
        ],
        image=image,
        image_alt=gettext("Photo de %(name)s", name=pictured.name) if pictured else "",
        json_ld=script_json(
            event_json_ld(event, url, description, image, organisation, availability)
        ),
        **share_links(event, url),
    )


def pictured_speaker(event: Event) -> Speaker | None:
    """Return the first speaker with a photo (the page's picture), or None."""
    return next((link.speaker for link in event.speaker_links if link.speaker.photo_filename), None)


def share_links(event: Event, url: str) -> dict[str, str]:
    """Build the mail, LinkedIn and Mastodon share links of the page at `url`."""
    when = format_span(event.starts_at, event.ends_at, event.tz)
    body = "\n".join((gettext("Cet événement pourrait vous intéresser :"), event.title, when, url))
    return {
        # RFC 6068: every reserved character percent-encoded, a space as %20 (never "+").
        "mail_share": f"mailto:?subject={_quote(event.title)}&body={_quote(body)}",
        "linkedin_share": LINKEDIN_SHARE + _quote(url),
        "mastodon_share": MASTODON_SHARE + _quote(f"{event.title}\n{url}"),
    }


def _quote(text: str) -> str:
    return quote(text, safe="")


# What the offer's availability is for each offer of the registration button (schema.org
# ItemAvailability); the page cache keeps the page only while the seats are unchanged, so it
# cannot go stale.
OFFER_AVAILABILITY = {
    Offer.REGISTER: "https://schema.org/InStock",
    Offer.WAITLIST: "https://schema.org/SoldOut",
    Offer.FULL: "https://schema.org/SoldOut",
}


def event_json_ld(
    event: Event,
    url: str,
    description: str,
    image: str | None,
    organisation: Organisation,
    availability: Availability | None = None,
) -> dict[str, Any]:
    """Describe the event as a schema.org Event."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.title,
        "description": description,
        "url": url,
        "startDate": event.starts_at.astimezone(event.tz).isoformat(),
        "endDate": event.ends_at.astimezone(event.tz).isoformat(),
        "eventAttendanceMode": ATTENDANCE_MODES[event.kind],
        "eventStatus": "https://schema.org/"
        + ("EventCancelled" if event.status == EventStatus.CANCELLED else "EventScheduled"),
        "location": _locations(event, url),
        "organizer": _organizer(organisation),
        "offers": {
            "@type": "Offer",
            "price": 0,
            "priceCurrency": "EUR",
            "url": url,
        },
    }
    if availability is not None and availability.offer in OFFER_AVAILABILITY:
        data["offers"]["availability"] = OFFER_AVAILABILITY[availability.offer]
    if event.registration_opens_at:
        data["offers"]["validFrom"] = event.registration_opens_at.astimezone(event.tz).isoformat()
    performers = [_person(link.speaker) for link in event.speaker_links]
    if performers:
        data["performer"] = performers
    if image:
        data["image"] = [image]
    return data


def _locations(event: Event, url: str) -> list[dict[str, Any]]:
    # The page, never the connection link: it is the door to registration.
    places: list[dict[str, Any]] = []
    if event.kind in (EventKind.ONLINE, EventKind.HYBRID):
        places.append({"@type": "VirtualLocation", "url": url})
    if event.kind in (EventKind.IN_PERSON, EventKind.HYBRID) and event.venue:
        places.append({"@type": "Place", "name": event.venue, "address": event.venue})
    return places


def _organizer(organisation: Organisation) -> dict[str, Any]:
    organizer = {"@type": "Organization", "name": organisation.name}
    if organisation.website:
        organizer["url"] = organisation.website
    return organizer


def _person(speaker: Speaker) -> dict[str, Any]:
    person = {
        "@type": "Person",
        "name": speaker.name,
        "url": f"{absolute_url('speakers.index')}#intervenant-{speaker.id}",
    }
    if speaker.role_line:
        person["jobTitle"] = speaker.role_line
    return person


def script_json(data: Any) -> Markup:
    """Serialise `data` as JSON that can sit inside <script> as it is."""
    return Markup(json.dumps(data, ensure_ascii=False).translate(_SCRIPT_SAFE))
