"""The demo kit: the seeds' "Kit RégionalESS", about twenty sheets, one every Thursday.

The titles the seeds give keep their numbers (n°7, 11, 16, 17, 18, 19); the others follow the
themes the press release announces. The first sheet comes out as the launch webinar that announces
the kit ends, then one every Thursday: in the live demo (the launch next Thursday) the kit page
shows the calendar to come, titles included. `--as-published` keeps the 2021 calendar, every
Thursday from 25 February.
"""

from __future__ import annotations

import textwrap
from datetime import datetime

from sqlalchemy import select

from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.kits import services, uploads
from eventapp.kits.models import Kit, Sheet
from eventapp.kits.placeholder import placeholder_pdf

KIT_SLUG = "kit-regionaless"

DESCRIPTION = """\
Une vingtaine de fiches pratiques pour inscrire l'économie sociale et solidaire dans les
politiques régionales : les premières clés d'une politique structurée, les leviers propres aux
régions, puis l'ESS dans chaque grande politique thématique. Chaque fiche tient en quelques
pages et s'appuie sur des exemples de régions. Une nouvelle fiche paraît chaque jeudi.
"""

# (number, title, summary, themes)
SHEETS = [
    (
        1,
        "Pourquoi une politique régionale de l'ESS ?",
        "Ce que l'ESS apporte à une région et les raisons d'en faire une politique à part entière.",
        ["premières clés"],
    ),
    (
        2,
        "Bâtir une politique ESS structurée",
        "Élu·e délégué·e, service dédié, budget, feuille de route : les fondations d'une politique "
        "volontariste.",
        ["premières clés"],
    ),
    (
        3,
        "Planification : l'ESS dans les schémas régionaux",
        "Inscrire l'ESS dans le SRDEII et les autres schémas que la région adopte.",
        ["leviers", "planification"],
    ),
    (
        4,
        "Animation territoriale et réseaux de l'ESS",
        "Chambres régionales, pôles territoriaux, réseaux : animer l'ESS au plus près des "
        "territoires.",
        ["leviers", "animation territoriale"],
    ),
    (
        5,
        "Financer les entreprises de l'ESS",
        "Subventions, avances remboursables, fonds de garantie, finance solidaire : la boîte à outils "
        "régionale.",
        ["leviers", "financement"],
    ),
    (
        6,
        "Développement économique & ESS",
        "Ouvrir les aides aux entreprises et l'accompagnement à la création aux structures de l'ESS.",
        ["politiques thématiques", "développement économique"],
    ),
    (
        7,
        "Tourisme et ESS",
        "Tourisme social, associatif et durable : des séjours accessibles et des retombées qui "
        "restent sur le territoire.",
        ["politiques thématiques", "tourisme"],
    ),
    (
        8,
        "Formation professionnelle & ESS",
        "Former aux métiers de l'ESS et faire des structures de l'ESS des acteurs de la formation.",
        ["politiques thématiques", "formation professionnelle"],
    ),
    (
        9,
        "Emploi et insertion par l'activité économique",
        "Soutenir les structures d'insertion et les parcours vers l'emploi durable.",
        ["politiques thématiques", "emploi"],
    ),
    (
        10,
        "Agriculture et alimentation durables",
        "Circuits courts, projets alimentaires territoriaux, coopératives : l'ESS dans les assiettes.",
        ["politiques thématiques", "agriculture"],
    ),
    (
        11,
        "Commande publique responsable",
        "Clauses sociales et environnementales, marchés réservés : acheter en soutenant l'ESS.",
        ["leviers", "commande publique"],
    ),
    (
        12,
        "Transition écologique et économie circulaire",
        "Réemploi, recyclerie, énergie citoyenne : l'ESS au cœur de la transition.",
        ["politiques thématiques", "transition écologique"],
    ),
    (
        13,
        "Innovation sociale",
        "Repérer, expérimenter, essaimer : accompagner les réponses nouvelles aux besoins sociaux.",
        ["leviers", "innovation sociale"],
    ),
    (
        14,
        "Coopératives et entrepreneuriat collectif",
        "SCOP, SCIC, coopératives d'activité et d'emploi : entreprendre à plusieurs.",
        ["politiques thématiques", "coopération"],
    ),
    (
        15,
        "Culture & ESS",
        "Lieux culturels associatifs, coopératives d'artistes : l'ESS dans la politique culturelle.",
        ["politiques thématiques", "culture"],
    ),
    (
        16,
        "Mobilité durable & ESS",
        "Covoiturage solidaire, garages associatifs, vélo : se déplacer autrement, partout.",
        ["politiques thématiques", "mobilité"],
    ),
    (
        17,
        "Soutien à la vie associative",
        "Conventions pluriannuelles, emploi associatif, bénévolat : consolider les associations.",
        ["politiques thématiques", "vie associative"],
    ),
    (
        18,
        "Numérique & ESS",
        "Médiation numérique, communs, outils libres : un numérique inclusif et coopératif.",
        ["politiques thématiques", "numérique"],
    ),
    (
        19,
        "Tiers-lieux & ESS",
        "Espaces partagés, fabriques de territoire : soutenir les tiers-lieux et leurs communautés.",
        ["politiques thématiques", "tiers-lieux"],
    ),
    (
        20,
        "Évaluer et valoriser l'ESS",
        "Mesurer l'utilité sociale, suivre les politiques menées et faire connaître leurs résultats.",
        ["premières clés", "évaluation"],
    ),
]


def demo_pdf(kit_title: str, number: int, title: str, summary: str) -> bytes:
    """Return the demo's stand-in for a sheet: its number, title and summary on one page."""
    lines = [f"Fiche n°{number} : {title}", kit_title, ""]
    lines += textwrap.wrap(summary, 80)
    lines += ["", "Document de démonstration : le contenu de la fiche viendra ici."]
    return placeholder_pdf(lines, title=f"{kit_title} – Fiche n°{number} : {title}")


def _store_demo_file(name: str, data: bytes) -> uploads.StoredFile:
    """Write a demo file under its fixed name unless the same bytes are already there."""
    path = uploads.stored_path(name)
    if path.is_file() and path.read_bytes() == data:
        return uploads.StoredFile(name, len(data))
    return uploads.write_file(data, name=name)


def load_kit_demo(event: Event, now: datetime) -> Kit:
    """Add the demo kit and its sheets where they are missing; never mail the back catalogue."""
    kit = db.session.scalars(select(Kit).where(Kit.slug == KIT_SLUG)).first()
    if kit is None:
        kit = services.create_kit(
            slug=KIT_SLUG,
            title="Kit RégionalESS",
            description=DESCRIPTION,
            events=[event],
            published=True,
            show_upcoming_titles=True,
            now=now,
        )
    elif event not in kit.events:
        kit.events.append(event)
    # The first sheet comes out as the launch webinar ends, then one every Thursday: never
    # before the launch that announces them.
    dates = services.weekly_dates(event.ends_at, len(SHEETS), tz=kit.tz)
    existing = {sheet.number: sheet for sheet in kit.sheets}
    for (number, title, summary, themes), release_at in zip(SHEETS, dates, strict=True):
        sheet: Sheet | None = existing.get(number)
        if sheet is None:
            sheet = services.add_sheet(
                kit,
                number=number,
                title=title,
                summary=summary,
                themes=themes,
                release_at=release_at,
                now=now,
            )
            if release_at <= now:
                sheet.notified_at = release_at  # out before the demo existed: nobody to tell
        if sheet.file_name is None:
            stored = _store_demo_file(
                f"demo-fiche-{number:02d}.pdf", demo_pdf(kit.title, number, title, summary)
            )
            sheet.file_name, sheet.file_size = stored
    db.session.flush()
    return kit
