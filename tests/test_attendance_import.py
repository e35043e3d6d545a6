"""Importing a video platform's attendance report: upload, preview with its columns and matches,
confirmation that replaces the report's spans and sets the minutes present, exactly once."""

from __future__ import annotations

import html
import io
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.registrations.models import Registration
from eventapp.registrations.services import Applicant, register_attendee
from eventapp.rooms import jobs
from eventapp.rooms.models import PresenceSource, PresenceSpan
from tests.admin_helpers import Poster, audit_actions, count, signed_in
from tests.factories import make_event
from tests.helpers import text

DATA = Path(__file__).parent / "data" / "attendance"
FORM_MAPPING = ("email", "name", "first_name", "joined_at", "left_at", "minutes")


@pytest.fixture
def folder(app, tmp_path):
    """Keep this test's kept reports in a folder of its own."""
    path = tmp_path / "reports"
    app.config["REPORT_UPLOAD_FOLDER"] = str(path)  # absolute: wins over the instance folder
    return path


def person(event, name: str, email: str) -> Registration:
    registration = register_attendee(event, Applicant(full_name=name, email=email), now_utc())
    db.session.commit()
    return registration


def zoom_fr_people(event):
    """The three people of zoom_fr.csv, and one who did not come."""
    return (
        person(event, "Élodie Lefèvre", "elodie.lefevre@example.fr"),
        person(event, "Jean-Éric Dupont", "jedupont@example.org"),
        person(event, "Claire Petit", "claire.petit@example.fr"),
        person(event, "Nina Absente", "nina@example.org"),
    )


def upload(client, event, data: bytes, filename: str = "rapport.csv"):
    return Poster(client)(
        f"/admin/events/{event.id}/presence/import",
        {"report": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def uploaded(client, event, data: bytes) -> str:
    """Upload a report and return its preview's URL."""
    response = upload(client, event, data)
    assert response.status_code == 303, text(response)
    return response.headers["Location"]


def mapping_of(page: str) -> dict[str, str]:
    """Return the option selected in each column <select> of the preview."""
    chosen = {}
    for field in FORM_MAPPING:
        select_html = re.search(rf'<select[^>]*name="{field}"[^>]*>(.*?)</select>', page, re.S)
        assert select_html, f"no select for {field}"
        option = re.search(r"<option[^>]*selected[^>]*>([^<]*)</option>", select_html.group(1))
        assert option, f"nothing selected for {field}"
        chosen[field] = html.unescape(option.group(1))
    return chosen


def confirm(client, preview_url: str, mapping: dict[str, str] | None = None, **choices):
    """Post the preview's confirmation form with the mapping it shows, or another one."""
    page = client.get(preview_url).get_data(as_text=True)
    if mapping is None:
        mapping = dict(re.findall(r'<input type="hidden" name="(\w+)" value="(\d*)">', page))
    return Poster(client)(preview_url, {**mapping, **choices})


def minutes(registration) -> int | None:
    db.session.refresh(registration)
    return registration.minutes_present


def kept(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_the_presence_page_links_to_the_import(app, client, folder):
    event = make_event()
    signed_in(client)
    page = text(client.get(f"/admin/events/{event.id}/presence"))
    assert f'href="/admin/events/{event.id}/presence/import"' in page
    assert "Importer un rapport de présence (Zoom, Teams, BigBlueButton, Visio)" in page
    form = text(client.get(f"/admin/events/{event.id}/presence/import"))
    assert 'type="file"' in form and 'enctype="multipart/form-data"' in form


def test_a_zoom_report_is_previewed_with_its_columns_and_matches_and_nothing_saved(
    app, client, folder
):
    event = make_event()
    zoom_fr_people(event)
    signed_in(client)
    url = uploaded(client, event, (DATA / "zoom_fr.csv").read_bytes())
    assert re.fullmatch(
        rf"/admin/events/{event.id}/presence/import/{event.id}-[0-9a-f]{{32}}\.csv", url
    )
    assert kept(folder) == [url.rsplit("/", 1)[1]]
    response = client.get(url)
    assert response.status_code == 200
    page = text(response)
    assert mapping_of(response.get_data(as_text=True)) == {
        "email": "E-mail de l'utilisateur",
        "name": "Nom (nom d'origine)",
        "first_name": "— pas de colonne —",
        "joined_at": "Heure d'arrivée",
        "left_at": "Heure de départ",
        "minutes": "Durée (minutes)",
    }
    assert "2 personnes reconnues par leur adresse mail" in page
    assert "1 personne reconnue par son nom" in page
    assert re.search(r"\b0 personnes? non reconnues?, laissées? de côté", page)
    assert "Personnes non reconnues, laissées de côté" not in page  # no table to review
    assert "3 premières lignes sur 3" in page  # the table of the first rows
    assert "10 déc. 2026, 13:30" in page  # Élodie's arrival, in the event's zone
    assert count(PresenceSpan) == 0
    assert all(r.minutes_present is None for r in db.session.scalars(select(Registration)))
    assert audit_actions().count("event.presence_import") == 0


def test_confirming_sets_the_minutes_and_forgets_the_file(app, client, folder):
    event = make_event()
    elodie, jean_eric, claire, nina = zoom_fr_people(event)
    signed_in(client)
    url = uploaded(client, event, (DATA / "zoom_fr.csv").read_bytes())
    response = confirm(client, url)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/events/{event.id}/presence#presences")
    assert (minutes(elodie), minutes(jean_eric), minutes(claire), minutes(nina)) == (
        75,
        85,
        80,
        None,
    )
    spans = db.session.scalars(select(PresenceSpan)).all()
    assert {s.source for s in spans} == {PresenceSource.REPORT}
    assert audit_actions().count("event.presence_import") == 1
    assert kept(folder) == []
    page = text(client.get(f"/admin/events/{event.id}/presence"))
    assert re.search(r"3 présences importées, 0 lignes? écartées?\.", page)  # 0: French singular


def test_reconnections_are_merged_and_unknown_people_left_out(app, client, folder):
    event = make_event()
    alice = person(event, "Alice Martin", "alice.martin@example.org")
    signed_in(client)
    url = uploaded(client, event, (DATA / "zoom_en.csv").read_bytes())
    page = text(client.get(url))
    assert "1 personne reconnue par son adresse mail" in page
    assert "1 personne non reconnue, laissée de côté" in page
    assert "Bob Durand" in page  # listed for review
    confirm(client, url)
    # 13:30–14:00 and 13:58–14:30 overlap (one hour together), then 14:40–15:00.
    assert minutes(alice) == 80
    assert (
        db.session.scalar(select(PresenceSpan.id).where(PresenceSpan.registration_id != alice.id))
        is None
    )
    assert count(PresenceSpan) == 2
    page = text(client.get(f"/admin/events/{event.id}/presence"))
    assert "1 présence importée, 1 ligne écartée." in page


def test_an_ambiguous_name_goes_to_the_registrant_the_organiser_chooses(app, client, folder):
    event = make_event()
    person(event, "Élodie Lefèvre", "elodie.lefevre@example.fr")
    first = person(event, "Jean-Éric Dupont", "je.dupont@example.org")
    second = person(event, "Dupont Jean-Eric", "jean-eric@example.org")
    signed_in(client)
    url = uploaded(client, event, (DATA / "zoom_fr.csv").read_bytes())
    page = text(client.get(url))
    assert "1 nom porté par plusieurs inscrit·es" in page
    assert '<select id="choice-3" name="choice-3">' in page
    assert f'<option value="{second.id}">Dupont Jean-Eric (jean-eric@example.org)</option>' in page
    confirm(client, url, **{"choice-3": str(second.id)})
    assert (minutes(first), minutes(second)) == (None, 85)


def test_an_ambiguous_name_left_out_or_forged_counts_for_no_one(app, client, folder):
    event = make_event()
    elodie = person(event, "Élodie Lefèvre", "elodie.lefevre@example.fr")
    first = person(event, "Jean-Éric Dupont", "je.dupont@example.org")
    second = person(event, "Jean-Eric Dupont", "jean-eric@example.org")
    signed_in(client)
    url = uploaded(client, event, (DATA / "zoom_fr.csv").read_bytes())
    # Élodie's id is not among the namesakes shown: posting it must not give her Jean-Éric's time.
    confirm(client, url, **{"choice-3": str(elodie.id)})
    assert (minutes(elodie), minutes(first), minutes(second)) == (75, None, None)
    page = text(client.get(f"/admin/events/{event.id}/presence"))
    assert "1 présence importée, 2 lignes écartées." in page  # Jean-Éric, and Claire unknown


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"PK\x03\x04\x14\x00\x06\x00 an xlsx workbook",
            "est un classeur Excel, pas un fichier CSV",
        ),
        (b"", "n'est pas un rapport de présence lisible"),
        (b"\x00\x01\x02\x03binary", "n'est pas un rapport de présence lisible"),
    ],
)
def test_a_file_that_is_no_report_is_refused_and_not_kept(app, client, folder, data, message):
    event = make_event()
    signed_in(client)
    response = upload(client, event, data)
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert 'class="error-summary"' in page
    assert kept(folder) == []


def test_an_upload_without_a_file_is_refused(app, client, folder):
    event = make_event()
    signed_in(client)
    response = Poster(client)(
        f"/admin/events/{event.id}/presence/import", content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "Choisissez le fichier du rapport." in text(response)


def test_a_changed_mapping_changes_the_preview_and_the_import(app, client, folder):
    event = make_event()
    elodie, jean_eric, claire, _nina = zoom_fr_people(event)
    signed_in(client)
    url = uploaded(client, event, (DATA / "zoom_fr.csv").read_bytes())
    # No address column any more, and no duration: everyone is matched by name, timed by the clock.
    mapping = {"email": "", "name": "0", "first_name": "", "joined_at": "2", "left_at": "3"}
    mapping["minutes"] = ""
    response = client.get(url, query_string=mapping)
    page = text(response)
    assert mapping_of(response.get_data(as_text=True))["email"] == "— pas de colonne —"
    assert re.search(r"\b0 personnes? reconnues? par (son|leur) adresse mail", page)
    assert "3 personnes reconnues par leur nom" in page
    # Only names: Claire's row has no time left to read, and is said so with its line.
    mapping["joined_at"] = mapping["left_at"] = ""
    page = text(client.get(url, query_string=mapping))
    assert "3 lignes illisibles, écartées" in page
    assert "Ligne 4 : ni heure ni durée de présence." in page
    mapping.update(joined_at="2", left_at="3")
    confirm(client, url, mapping)
    assert (minutes(elodie), minutes(jean_eric), minutes(claire)) == (75, 85, 80)


def test_a_duration_without_times_is_counted_from_the_start(app, client, folder):
    event = make_event()
    anne = person(event, "Anne Morel", "anne.morel@example.fr")
    signed_in(client)
    url = uploaded(client, event, "Nom;Durée\r\nAnne Morel;45\r\n".encode())
    confirm(client, url)
    span = db.session.scalars(select(PresenceSpan)).one()
    assert (span.joined_at, span.left_at) == (
        event.starts_at,
        event.starts_at + timedelta(minutes=45),
    )
    assert minutes(anne) == 45


@pytest.mark.parametrize(
    "name", ["rapport.csv", "0" * 32 + ".txt", "0" * 31 + ".csv", "A" * 32 + ".csv", ".csv"]
)
def test_a_forged_file_name_is_not_found(app, client, folder, name):
    event = make_event()
    signed_in(client)
    assert client.get(f"/admin/events/{event.id}/presence/import/{name}").status_code == 404
    assert Poster(client)(f"/admin/events/{event.id}/presence/import/{name}").status_code == 404


def test_a_name_of_ours_that_is_gone_is_not_found(app, client, folder):
    event = make_event()
    signed_in(client)
    name = f"{event.id}-{'0' * 32}.csv"
    assert client.get(f"/admin/events/{event.id}/presence/import/{name}").status_code == 404


def test_a_report_kept_for_another_event_is_not_found_under_this_one(app, client, folder):
    event, other = make_event(), make_event()
    zoom_fr_people(event)
    signed_in(client)
    url = uploaded(client, event, (DATA / "zoom_fr.csv").read_bytes())
    name = url.rsplit("/", 1)[1]
    assert name.startswith(f"{event.id}-")
    assert client.get(url).status_code == 200
    assert client.get(f"/admin/events/{other.id}/presence/import/{name}").status_code == 404
    assert Poster(client)(f"/admin/events/{other.id}/presence/import/{name}").status_code == 404


def test_confirming_needs_the_csrf_token(app, client, folder):
    event = make_event()
    elodie, *_others = zoom_fr_people(event)
    signed_in(client)
    url = uploaded(client, event, (DATA / "zoom_fr.csv").read_bytes())
    response = client.post(url, data={"email": "1", "name": "0"})
    assert response.status_code == 400
    assert count(PresenceSpan) == 0
    assert minutes(elodie) is None
    assert len(kept(folder)) == 1


def test_confirming_twice_or_importing_again_does_not_double_the_minutes(app, client, folder):
    event = make_event()
    elodie, *_others = zoom_fr_people(event)
    signed_in(client)
    url = uploaded(client, event, (DATA / "zoom_fr.csv").read_bytes())
    mapping = dict(
        re.findall(r'<input type="hidden" name="(\w+)" value="(\d*)">', text(client.get(url)))
    )
    assert confirm(client, url).status_code == 303
    again = Poster(client)(url, mapping)  # the page still open in another tab
    assert again.status_code == 303
    page = text(client.get(f"/admin/events/{event.id}/presence"))
    assert "Ce rapport a déjà été importé, ou il a expiré : rien n'a été modifié." in page
    assert audit_actions().count("event.presence_import") == 1
    # The same report uploaded and confirmed a second time replaces the first import's spans.
    confirm(client, uploaded(client, event, (DATA / "zoom_fr.csv").read_bytes()))
    assert minutes(elodie) == 75
    assert count(PresenceSpan) == 3


def test_reports_never_confirmed_are_forgotten_after_a_day(app, client, folder):
    event = make_event()
    signed_in(client)
    old = uploaded(client, event, (DATA / "zoom_fr.csv").read_bytes()).rsplit("/", 1)[1]
    fresh = uploaded(client, event, (DATA / "zoom_en.csv").read_bytes()).rsplit("/", 1)[1]
    stranger = folder / "notes.txt"  # not a name of ours: left alone
    stranger.write_text("x")
    two_days_ago = (now_utc() - timedelta(days=2)).timestamp()
    for path in (folder / old, stranger):
        os.utime(path, (two_days_ago, two_days_ago))
    assert jobs.forget_reports(now_utc()) == 1
    assert kept(folder) == sorted([fresh, "notes.txt"])
