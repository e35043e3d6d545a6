"""The demo's past webinar: held before the launch, with its replay, materials and registrants.

A newcomer sees what an ended event looks like (the replay and documents on its page), and the
back office has attendance, a sent post-event mail and survey answers to show. Its registrants are fictional
(example.org addresses) and its mail counts as sent before the demo existed: nobody is mailed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from eventapp.aftermath import uploads
from eventapp.aftermath.models import EventMaterial
from eventapp.attestations.services import issue
from eventapp.events.models import Event, EventKind, EventStatus
from eventapp.extensions import db
from eventapp.kits.placeholder import placeholder_pdf
from eventapp.registrations.models import Registration, RegistrationStatus
from eventapp.rooms.models import PresenceSource, PresenceSpan
from eventapp.surveys.models import SurveyAnswer
from eventapp.text import email_key, slugify

PAST_SLUG = "kit-municipaless-un-an-apres"
REPLAY_URL = "https://videos.example.org/w/rtes-kit-municipaless-un-an-apres"
DESCRIPTION = """\
Un an après la parution du **Kit MunicipalESS**, des élu·es municipaux racontent ce que les fiches
ont changé dans leur mandat : un service ESS créé, une clause sociale dans les marchés, un tiers-lieu
soutenu. Une heure d'échanges pour préparer le kit suivant, consacré aux régions.
"""
SLIDES = [
    "Kit MunicipalESS : un an après",
    "RTES – Réseau des collectivités Territoriales pour une Economie Solidaire",
    "",
    "1. Ce que les communes ont fait des fiches",
    "2. Trois témoignages d'élu·es",
    "3. Vers un kit pour les régions",
]
# What four of those who came wrote in the survey: (rating, most useful, to improve, next topics).
ANSWERS = [
    (5, "Les exemples de communes de taille comparable à la nôtre.", "", "La commande publique"),
    (4, "Le témoignage sur le service ESS créé à Loos-en-Gohelle.", "Un peu court.", ""),
    (5, "", "", "Les tiers-lieux, le numérique"),
    (3, "Les fiches sur les financements.", "Plus de temps pour les questions.", "L'évaluation"),
]
# (name, organisation, minutes in the room as the platform's report gave them, status); an
# attestation from ATTESTATION_MINUTES.
REGISTRANTS = [
    ("Nadia Benali", "Ville de Roubaix", 60, RegistrationStatus.CONFIRMED),
    ("Thomas Girard", "Métropole de Lyon", 52, RegistrationStatus.CONFIRMED),
    ("Élise Moreau", "Commune de Loos-en-Gohelle", 58, RegistrationStatus.CONFIRMED),
    ("Karim Ouali", "Département de la Gironde", 21, RegistrationStatus.CONFIRMED),
    ("Sophie Lambert", "Ville de Grenoble", 44, RegistrationStatus.CONFIRMED),
    ("Julien Faure", "Communauté de communes du Clunisois", 0, RegistrationStatus.CONFIRMED),
    ("Aline Marchand", "Ville de Poitiers", 0, RegistrationStatus.CONFIRMED),
    ("Hugo Lefèvre", "Région Bretagne", 0, RegistrationStatus.CANCELLED),
]
ATTESTATION_MINUTES = 45


def past_webinar_times(launch: Event) -> tuple[datetime, datetime]:
    """Four weeks before the launch, 10:00–11:00 Paris."""
    start = (launch.starts_at - timedelta(weeks=4)).astimezone(launch.tz)
    start = start.replace(hour=10, minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=1)


def load_past_webinar_demo(launch: Event, now: datetime) -> Event:
    """Add the past webinar, its replay, slides and registrants where they are missing."""
    event = db.session.scalars(select(Event).where(Event.slug == PAST_SLUG)).first()
    if event is not None:
        return event
    starts_at, ends_at = past_webinar_times(launch)
    mailed = min(ends_at + timedelta(days=1), now)  # the replay, and the mail that announced it
    event = Event(
        slug=PAST_SLUG,
        title="Kit MunicipalESS : un an après",
        summary="Des élu·es racontent ce que le Kit MunicipalESS a changé dans leur commune.",
        description=DESCRIPTION,
        kind=EventKind.ONLINE,
        status=EventStatus.PUBLISHED,
        starts_at=starts_at,
        ends_at=ends_at,
        timezone=launch.timezone,
        capacity=100,
        connection_url="https://visio.example.org/rtes/municipaless",
        replay_url=REPLAY_URL,
        replay_published_at=mailed,
        # Sent before the demo existed: the worker has nothing to send.
        aftermath_requested_at=mailed,
        aftermath_queued_at=mailed,
    )
    db.session.add(event)
    db.session.flush()
    answers = iter(ANSWERS)
    event.attestation_min_minutes = ATTESTATION_MINUTES
    for index, (name, organisation, minutes, status) in enumerate(REGISTRANTS):
        joined = minutes > 0
        email = f"{slugify(name.split()[0])}.demo{index}@example.org"
        registered = starts_at - timedelta(days=10 - index)
        registration = Registration(
            event_id=event.id,
            status=status,
            full_name=name,
            email=email,
            email_key=email_key(email),
            organisation=organisation,
            category="elu" if index % 2 == 0 else "agent",
            created_at=registered,
            confirmed_at=registered,
            cancelled_at=starts_at - timedelta(days=1)
            if status == RegistrationStatus.CANCELLED
            else None,
            first_joined_at=starts_at + timedelta(minutes=index) if joined else None,
            last_joined_at=starts_at + timedelta(minutes=index) if joined else None,
        )
        db.session.add(registration)
        if joined:
            # The platform's attendance report, as an organiser imports it after the webinar.
            db.session.flush()
            joined_at = starts_at + timedelta(minutes=index)
            db.session.add(
                PresenceSpan(
                    registration_id=registration.id,
                    event_id=event.id,
                    source=PresenceSource.REPORT,
                    joined_at=joined_at,
                    left_at=joined_at + timedelta(minutes=minutes),
                )
            )
            registration.minutes_present = minutes
            if minutes >= ATTESTATION_MINUTES:
                issue(registration, mailed)
        answer = next(answers, None) if joined else None
        if answer is not None:
            db.session.flush()
            rating, useful, improve, topics = answer
            answered = min(mailed + timedelta(hours=index + 2), now)  # from the mail's link
            db.session.add(
                SurveyAnswer(
                    registration_id=registration.id,
                    event_id=event.id,
                    rating=rating,
                    most_useful=useful,
                    to_improve=improve,
                    next_topics=topics,
                    created_at=answered,
                    updated_at=answered,
                )
            )
    pdf = placeholder_pdf(SLIDES, title=SLIDES[0])
    slides = uploads.write_file(pdf, "demo-municipaless-diaporama.pdf")
    text = "\n".join(line for line in SLIDES if line) + "\n"
    alternative = uploads.write_file(text.encode(), "demo-municipaless-diaporama.txt")
    db.session.add(
        EventMaterial(
            event_id=event.id,
            position=1,
            title="Diaporama de la rencontre",
            file_name=slides,
            file_size=len(pdf),
            accessible=False,
            alternative_file_name=alternative,
            alternative_file_size=len(text.encode()),
        )
    )
    db.session.flush()
    return event
