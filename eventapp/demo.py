"""The demo: the online launch of the RTES "kit RégionalESS", from the seeds' facts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import click
from sqlalchemy import select

from eventapp.aftermath.demo import load_past_webinar_demo
from eventapp.events.models import Event, EventKind, EventStatus
from eventapp.extensions import db
from eventapp.kits.demo import load_kit_demo
from eventapp.models import now_utc
from eventapp.press.models import PressContact, PressRelease
from eventapp.site.models import Organisation
from eventapp.speakers.models import EventSpeaker, Speaker, SpeakerRole

PARIS = ZoneInfo("Europe/Paris")
LAUNCH_SLUG = "lancement-kit-regionaless"
PUBLISHED_LAUNCH_DAY = date(2021, 2, 25)

ORGANISATION = {
    "name": "Réseau des collectivités Territoriales pour une Economie Solidaire",
    "short_name": "RTES",
    "address": "La Grappe, 75 rue Léon Gambetta, 59000 Lille",
    "website": "https://www.rtes.fr",
    "social_handle": "@ReseauRTES",
    "email": "mbesnier@rtes.fr",
}

SPEAKERS = [
    {
        "name": "Mahel Coppey",
        "role_line": "Présidente du RTES",
        "organisation": "RTES",
        "bio": "Élue locale engagée de longue date pour l'économie sociale et solidaire, "
        "elle préside le réseau des collectivités qui la soutiennent.",
    },
    {
        "name": "Pascal Duforestel",
        "role_line": "Secrétaire du RTES, conseiller délégué à l'ESS en région Nouvelle-Aquitaine",
        "organisation": "Région Nouvelle-Aquitaine",
        "bio": "Il suit au conseil régional de Nouvelle-Aquitaine les politiques "
        "de soutien à l'ESS et les partage au sein du réseau.",
    },
    {
        "name": "Catherine Zuber",
        "role_line": "Vice-présidente du RTES, conseillère déléguée à l'ESS en région Grand Est",
        "organisation": "Région Grand Est",
        "bio": "Elle porte l'ESS au conseil régional du Grand Est et "
        "apporte au kit l'expérience d'une grande région.",
    },
]

DESCRIPTION = """\
Les élections régionales approchent. Pour aider les candidates et candidats, puis les
nouvelles équipes régionales, à faire une place à l'économie sociale et solidaire dans leurs
politiques, le RTES publie le **kit RégionalESS**.

Pendant trente minutes, trois élues et élus du réseau présentent le kit :

- les **premières clés** d'une politique régionale de l'ESS ;
- les **leviers** dont dispose une région : planification, animation des territoires,
  commande publique ;
- la place de l'ESS dans les **politiques thématiques** : développement économique,
  mobilité, formation, agriculture, numérique.

Le kit compte une vingtaine de fiches pratiques, illustrées d'exemples, sur le modèle du
kit MunicipalESS de 2020. Une nouvelle fiche paraît chaque jeudi après le lancement.
"""


PRESS_CONTACT = {
    "name": "Martin Besnier",
    "role": "Contact presse",
    "organisation": "RTES",
    "email": "mbesnier@rtes.fr",
    "phone": "07 81 50 06 46",
    "social_handle": "@ReseauRTES",
    "street": "La Grappe, 75 rue Léon Gambetta",
    "postcode": "59000",
    "city": "Lille",
    "country": "France",
    "is_default": True,
}

PRESS_RELEASE_SLUG = "lancement-kit-regionaless"
PRESS_RELEASE_BODY = """\
À quelques mois des élections régionales de juin 2021, le Réseau des collectivités
territoriales pour une économie solidaire (RTES) publie le **kit RégionalESS**. Il s'adresse
aux candidates et candidats, puis aux équipes qui prendront la tête des régions : comment
faire de l'économie sociale et solidaire (ESS) une politique régionale à part entière ?

## Une vingtaine de fiches pratiques

Conçu sur le modèle du kit MunicipalESS paru en 2020, le kit rassemble une vingtaine de fiches
courtes et concrètes, chacune appuyée sur des exemples de régions. Elles présentent :

- les **premières clés** pour bâtir une politique volontariste et structurée ;
- les **leviers propres aux régions** : planification, animation des territoires,
  commande publique ;
- la place de l'ESS dans les **politiques thématiques** : développement économique,
  mobilité, formation professionnelle, agriculture.

Une fiche paraît chaque jeudi à partir du lancement, jusqu'à la fin du mois de juin.

## Un lancement en visioconférence

Le kit est présenté lors d'un webinaire d'une demi-heure, avec **Mahel Coppey**, présidente du
RTES, **Pascal Duforestel**, secrétaire du RTES et conseiller délégué à l'ESS en région
Nouvelle-Aquitaine, et **Catherine Zuber**, vice-présidente du RTES et conseillère déléguée à
l'ESS en région Grand Est.

## Pourquoi les régions

Emplois durables, cohésion sociale et territoriale, innovation sociale, engagement des
habitantes et des habitants : l'ESS répond à des besoins de tous les jours. Pour un nombre
croissant d'élus, c'est un modèle d'avenir pour la transition, la relocalisation des activités
et la résilience des territoires. Reste à savoir comment s'y prendre : c'est l'objet du kit.

## À propos du RTES

Le RTES réunit plus de 145 collectivités (régions, départements, intercommunalités,
communes) engagées pour l'ESS. Depuis 2001, il fait connaître les initiatives des
territoires, les fait valoir auprès des institutions, aide les bonnes pratiques à circuler
et cherche à améliorer les politiques publiques qui soutiennent l'ESS.
"""


def press_release_time(event: Event, now: datetime) -> datetime:
    """Return when the demo's release came out: 9:00 three days before the launch, as in 2021
    (22 February for the 25th), and never later than now, so that the press room shows it."""
    day = event.starts_at.astimezone(PARIS).date() - timedelta(days=3)
    return min(datetime.combine(day, time(9, 0), tzinfo=PARIS), now.astimezone(PARIS))


def load_press_demo(event: Event, now: datetime) -> PressRelease:
    """Add the launch's press release and its press contact where they are missing."""
    contact = db.session.scalars(
        select(PressContact).where(PressContact.email == PRESS_CONTACT["email"])
    ).first()
    if contact is None:
        contact = PressContact(**PRESS_CONTACT)
        db.session.add(contact)
    release = db.session.scalars(
        select(PressRelease).where(PressRelease.slug == PRESS_RELEASE_SLUG)
    ).first()
    if release is None:
        published_at = press_release_time(event, now)
        release = PressRelease(
            slug=PRESS_RELEASE_SLUG,
            title="Le RTES lance le kit RégionalESS pour les futures équipes régionales",
            summary="Une vingtaine de fiches pratiques pour aider les candidats et les futures "
            "équipes régionales à soutenir l'économie sociale et solidaire, présentées en "
            "visioconférence par trois élus du réseau.",
            body=PRESS_RELEASE_BODY,
            dateline_place="Lille",
            dateline_date=published_at.date(),
            published_at=published_at,
            event=event,
        )
        db.session.add(release)
    if contact not in release.contacts:
        release.contacts.append(contact)
    return release


def next_thursday(today: date) -> date:
    """Return the first Thursday strictly after `today`."""
    return today + timedelta(days=(3 - today.weekday()) % 7 or 7)


def launch_times(now: datetime, as_published: bool) -> tuple[datetime, datetime]:
    """Return the launch's start and end: next Thursday 13:30–14:00 Paris, or the 2021 date."""
    day = PUBLISHED_LAUNCH_DAY if as_published else next_thursday(now.astimezone(PARIS).date())
    start = datetime.combine(day, time(13, 30), tzinfo=PARIS)
    return start, start + timedelta(minutes=30)


def load_demo(now: datetime | None = None, as_published: bool = False) -> Event:
    """Add the demo organisation, speakers and launch event where they are missing."""
    now = now or now_utc()
    if db.session.scalars(select(Organisation).limit(1)).first() is None:
        db.session.add(Organisation(**ORGANISATION))

    event = db.session.scalars(select(Event).where(Event.slug == LAUNCH_SLUG)).first()
    if event is None:
        starts_at, ends_at = launch_times(now, as_published)
        event = Event(
            slug=LAUNCH_SLUG,
            title="Lancement du kit RégionalESS",
            summary="Webinaire de présentation du kit RégionalESS : une vingtaine de fiches "
            "pratiques pour inscrire l'économie sociale et solidaire dans les politiques "
            "régionales.",
            description=DESCRIPTION,
            kind=EventKind.ONLINE,
            status=EventStatus.PUBLISHED,
            starts_at=starts_at,
            ends_at=ends_at,
            timezone="Europe/Paris",
            capacity=500,
            waitlist_enabled=True,
            connection_url="https://visio.example.org/rtes/kit-regionaless",
            connection_url_public=False,
        )
        db.session.add(event)

    linked = {link.speaker.name for link in event.speaker_links}
    for position, facts in enumerate(SPEAKERS):
        speaker = db.session.scalars(select(Speaker).where(Speaker.name == facts["name"])).first()
        if speaker is None:
            speaker = Speaker(**facts, links=[])
            db.session.add(speaker)
        if speaker.name not in linked:
            event.speaker_links.append(
                EventSpeaker(speaker=speaker, position=position, role=SpeakerRole.SPEAKER)
            )
    load_press_demo(event, now)
    load_kit_demo(event, now)
    load_past_webinar_demo(event, now)
    db.session.flush()
    return event


@click.command("demo")
@click.option("--as-published", is_flag=True, help="Keep the 2021 dates of the press release.")
@click.option("--if-empty", is_flag=True, help="Load nothing when the database has an event.")
def demo_command(as_published: bool, if_empty: bool) -> None:
    """Load the demo launch webinar; loading it again adds nothing."""
    if if_empty and db.session.scalars(select(Event.id).limit(1)).first() is not None:
        click.echo("The database already has events: demo not loaded.")
        return
    event = load_demo(as_published=as_published)
    db.session.commit()
    click.echo(
        f"Demo ready: /events/{event.slug} ({event.starts_at.astimezone(PARIS):%Y-%m-%d %H:%M} Paris)"
    )
