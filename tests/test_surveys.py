"""The satisfaction survey: its personal links, the answer and its changes, closing, turning it
off, erasure, and the back office's figures, chart, free-text answers and CSV."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy import func, select

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.registrations.models import RegistrationStatus, TokenPurpose
from eventapp.registrations.tokens import join_secret, store_tokens
from eventapp.surveys import services
from eventapp.surveys.models import SurveyAnswer
from tests.admin_helpers import (  # noqa: F401 - cheap_hashing is an autouse fixture
    Poster,
    QueryCounter,
    audit_actions,
    cheap_hashing,
    register,
    signed_in,
)
from tests.factories import make_event
from tests.helpers import csrf_token, text

SVG = "{http://www.w3.org/2000/svg}"


def ended_event(**fields):
    """An event that ended yesterday: its survey is open."""
    starts_at = now_utc().replace(microsecond=0) - timedelta(days=1, hours=1)
    return make_event(starts_at=starts_at, **fields)


def attendee(event, name: str = "Camille Martin", joined: bool = True, **fields):
    """Register someone while registration was open, as having joined the room, unless told."""
    registration = register(event, name, now=event.starts_at - timedelta(days=2), **fields)
    if joined:
        registration.first_joined_at = event.starts_at + timedelta(minutes=1)
        db.session.commit()
    return registration


def secret(registration, purpose: TokenPurpose = TokenPurpose.SURVEY) -> str:
    """Mint and store a secret of a purpose for the registration, as the post-event mail will."""
    raw = secrets.token_urlsafe(32)
    store_tokens(registration, {purpose: raw})
    db.session.commit()
    return raw


def answers() -> list[SurveyAnswer]:
    return list(db.session.scalars(select(SurveyAnswer).order_by(SurveyAnswer.id)))


def send(client, url: str, lang: str = "fr", **fields):
    """Post the survey form as a browser would, with the page's CSRF token."""
    data = {"csrf_token": csrf_token(client, url), **fields}
    data = {key: value for key, value in data.items() if value is not None}
    return client.post(url, data=data, headers={"Accept-Language": lang})


def plain(response) -> str:
    """The page's words without tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


def checked_rating(html: str) -> str | None:
    match = re.search(r'<input[^>]*checked[^>]*name="rating"[^>]*value="(\d)"', html) or re.search(
        r'<input[^>]*name="rating"[^>]*value="(\d)"[^>]*checked', html
    )
    return match.group(1) if match else None


@pytest.fixture
def event(app):
    return ended_event(title="Lancement du kit")


# --- the public pages -------------------------------------------------------------------------


def test_the_survey_link_opens_a_form_that_saves_then_changes_one_answer(client, event):
    registration = attendee(event)
    url = f"/s/{secret(registration)}"

    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Lancement du kit" in text(page)
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex">' in html
    # Five radio buttons in a fieldset with its legend, each with its label.
    fieldset = re.search(r"<fieldset[^>]*>.*?</fieldset>", html, re.S).group(0)
    assert "<legend>" in fieldset and "satisfait·e de cet événement" in fieldset
    assert len(re.findall(r'type="radio"', fieldset)) == 5
    for number in range(5):
        assert f'for="rating-{number}"' in fieldset and f'id="rating-{number}"' in fieldset
    assert "1 – Pas du tout satisfait·e" in fieldset and "5 – Très satisfait·e" in fieldset
    assert html.count("<textarea") == 3

    sent = send(client, url, rating="4", most_useful="Les exemples", to_improve="", next_topics="")
    assert sent.status_code == 303
    assert sent.headers["Location"] == url + "/thanks"
    thanks = client.get(url + "/thanks")
    assert thanks.status_code == 200
    assert "modifier avec ce même lien tant que le questionnaire est ouvert" in plain(thanks)
    assert "Les exemples" in text(thanks)
    [first] = answers()
    assert (first.rating, first.most_useful, first.event_id) == (4, "Les exemples", event.id)
    created = first.created_at

    prefilled = client.get(url).get_data(as_text=True)
    assert checked_rating(prefilled) == "4"
    assert "Les exemples</textarea>" in prefilled
    changed = send(client, url, rating="2", most_useful="", to_improve="Le son\r\nLa durée")
    assert changed.status_code == 303
    [again] = answers()  # still one answer per registration
    assert (again.id, again.rating, again.most_useful) == (first.id, 2, "")
    assert again.to_improve == "Le son\nLa durée"  # line breaks as the person typed them
    assert again.created_at == created


@pytest.mark.parametrize("purpose", [TokenPurpose.MANAGE, TokenPurpose.JOIN])
def test_a_secret_of_another_purpose_does_not_open_the_survey(client, event, purpose):
    registration = attendee(event)
    raw = secret(registration, purpose)
    response = client.get(f"/s/{raw}")
    assert response.status_code == 404
    assert "Lien non valide" in text(response)
    posted = client.post(f"/s/{raw}", data={"csrf_token": csrf_token(client, "/admin/login")})
    assert posted.status_code == 404 and answers() == []


def test_unknown_or_misplaced_secrets_get_the_invalid_link_page(client, event):
    registration = attendee(event)
    survey = secret(registration)
    for url in ("/s/nope", "/s/" + "a" * 43, f"/r/{survey}/survey", f"/s/{survey[:-1]}/thanks"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Ce lien n'est pas ou plus valide" in text(response)
        assert response.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("rating", [None, "", "0", "6", "-1", "4.5", "quatre"])
def test_a_missing_or_out_of_range_rating_is_refused_in_french_and_saves_nothing(
    client, event, rating
):
    url = f"/s/{secret(attendee(event))}"
    response = send(client, url, rating=rating, most_useful="Bien")
    assert response.status_code == 422
    assert "Choisissez une note de 1 à 5." in text(response)
    assert 'href="#rating"' in response.get_data(as_text=True)  # the summary leads to the fieldset
    assert "Bien</textarea>" in response.get_data(as_text=True)  # what was typed stays
    assert answers() == []


def test_a_bad_change_leaves_the_answer_as_it_was(client, event):
    url = f"/s/{secret(attendee(event))}"
    assert send(client, url, rating="5", next_topics="Mobilité").status_code == 303
    too_long = send(client, url, rating="1", next_topics="x" * 2001)
    assert too_long.status_code == 422
    assert "2000 caractères au plus" in text(too_long)
    without_rating = send(client, url, next_topics="Autre chose")  # the rating taken off
    assert without_rating.status_code == 422
    assert "Choisissez une note de 1 à 5." in text(without_rating)
    [answer] = answers()
    assert (answer.rating, answer.next_topics) == (5, "Mobilité")


def test_the_survey_opens_only_once_the_event_has_ended(client):
    soon = make_event(starts_at=now_utc().replace(microsecond=0) + timedelta(days=3))
    live = make_event(starts_at=now_utc().replace(microsecond=0) - timedelta(minutes=5))
    for event in (soon, live):
        url = f"/s/{secret(attendee(event, joined=False))}"
        page = client.get(url)
        assert page.status_code == 200
        assert "Le questionnaire ouvrira à la fin de l'événement" in plain(page)
        assert 'name="rating"' not in page.get_data(as_text=True)
        refused = client.post(
            url, data={"csrf_token": csrf_token(client, "/admin/login"), "rating": "5"}
        )
        assert refused.status_code == 409
    assert answers() == []


def test_a_closed_survey_shows_the_answer_read_only_and_a_post_changes_nothing(client, event):
    url = f"/s/{secret(attendee(event))}"
    token = csrf_token(client, url)
    assert send(client, url, rating="3", most_useful="Le témoignage").status_code == 303
    services.close_survey(event, now_utc())
    db.session.commit()

    page = client.get(url)
    assert page.status_code == 200
    assert "Le questionnaire est clos" in plain(page)
    assert "Le témoignage" in text(page) and "3 – Moyennement satisfait·e" in text(page)
    assert "<form" not in page.get_data(as_text=True).split("<main", 1)[1]
    refused = client.post(url, data={"csrf_token": token, "rating": "1", "most_useful": "Rien"})
    assert refused.status_code == 409
    [answer] = answers()
    assert (answer.rating, answer.most_useful) == (3, "Le témoignage")
    assert "ne peut plus être modifiée" in plain(client.get(url + "/thanks"))

    services.reopen_survey(event)
    db.session.commit()
    assert send(client, url, rating="1").status_code == 303
    assert answers()[0].rating == 1


def test_a_survey_turned_off_says_so_and_takes_no_answer(client, event):
    registration = attendee(event)
    url = f"/s/{secret(registration)}"
    token = csrf_token(client, url)
    services.set_enabled(event, False)
    db.session.commit()
    page = client.get(url)
    assert page.status_code == 200
    assert "Il n'y a pas de questionnaire de satisfaction pour cet événement." in text(page)
    assert client.post(url, data={"csrf_token": token, "rating": "5"}).status_code == 409
    assert answers() == []
    space = client.get(f"/r/{secret(registration, TokenPurpose.MANAGE)}")
    assert "/survey" not in space.get_data(as_text=True)


def test_a_post_without_its_csrf_token_is_refused_and_saves_nothing(client, event):
    url = f"/s/{secret(attendee(event))}"
    response = client.post(url, data={"rating": "5"})
    assert response.status_code == 400
    assert "rechargez la page" in text(response)
    assert answers() == []


@pytest.mark.parametrize("status", [RegistrationStatus.CANCELLED, RegistrationStatus.WAITLISTED])
def test_a_cancelled_or_waiting_registration_is_refused_clearly(client, event, status):
    registration = attendee(event)
    url = f"/s/{secret(registration)}"
    token = csrf_token(client, url)
    registration.status = status
    db.session.commit()
    page = client.get(url)
    assert page.status_code == 403
    assert 'role="alert"' in page.get_data(as_text=True)
    assert ("annulée" if status == RegistrationStatus.CANCELLED else "liste d'attente") in text(
        page
    )
    assert client.post(url, data={"csrf_token": token, "rating": "5"}).status_code == 403
    assert answers() == []


def test_the_language_button_draws_the_form_again_and_saves_nothing(client, event):
    url = f"/s/{secret(attendee(event))}"
    response = send(client, url, rating="4", most_useful="Tout", switch_language="en")
    assert response.status_code == 200
    assert '<html lang="en">' in response.get_data(as_text=True)
    assert "Tout</textarea>" in response.get_data(as_text=True)
    assert answers() == []


def test_pages_in_english_answer_in_english(client, event):
    url = f"/s/{secret(attendee(event))}"
    by_header = client.get(url, headers={"Accept-Language": "en"})
    client.set_cookie("lang", "en")  # the language chosen with the switch
    by_cookie = client.get(url)
    for response in (by_header, by_cookie):
        assert response.status_code == 200
        assert '<html lang="en">' in response.get_data(as_text=True)


# --- from the attendee space ------------------------------------------------------------------


def test_the_attendee_space_links_to_the_survey_once_the_event_has_ended(client, event):
    registration = attendee(event)
    manage = secret(registration, TokenPurpose.MANAGE)
    space = client.get(f"/r/{manage}").get_data(as_text=True)
    assert 'id="avis"' in space and f'href="/r/{manage}/survey"' in space

    survey = client.get(f"/r/{manage}/survey")
    assert survey.status_code == 200
    assert survey.headers["Referrer-Policy"] == "no-referrer"
    assert f'action="/r/{manage}/survey"' in survey.get_data(as_text=True)
    assert f'href="/r/{manage}"' in survey.get_data(as_text=True)  # back to the space
    sent = send(client, f"/r/{manage}/survey", rating="5")
    assert sent.status_code == 303
    assert sent.headers["Location"] == f"/r/{manage}/survey/thanks"
    assert client.get(f"/r/{manage}/survey/thanks").status_code == 200
    assert answers()[0].registration_id == registration.id

    upcoming = make_event(starts_at=now_utc().replace(microsecond=0) + timedelta(days=3))
    other = secret(attendee(upcoming, joined=False), TokenPurpose.MANAGE)
    assert 'id="avis"' not in client.get(f"/r/{other}").get_data(as_text=True)


def test_the_join_secret_of_the_space_does_not_open_the_survey(client, event):
    manage = secret(attendee(event), TokenPurpose.MANAGE)
    assert client.get(f"/r/{join_secret(manage)}/survey").status_code == 404


def test_erasing_a_registration_deletes_its_answer_and_the_data_download_has_it(client, event):
    registration = attendee(event)
    other = attendee(event, "Alex Dupont")
    manage = secret(registration, TokenPurpose.MANAGE)
    send(client, f"/s/{secret(registration)}", rating="4", to_improve="Le son")
    send(client, f"/s/{secret(other)}", rating="2")

    data = json.loads(client.get(f"/r/{manage}/data.json").get_data(as_text=True))
    assert data["survey_answer"]["rating"] == 4
    assert data["survey_answer"]["to_improve"] == "Le son"

    erased = client.post(
        f"/r/{manage}/erase",
        data={"csrf_token": csrf_token(client, f"/r/{manage}"), "confirm": "y"},
    )
    assert erased.status_code == 303
    assert [answer.registration_id for answer in answers()] == [other.id]


# --- the organiser's view ---------------------------------------------------------------------


def answered(event, ratings: list[int], texts: dict[int, str] | None = None) -> None:
    """Give the event one answer per rating, an hour apart, the first joined and the rest not."""
    texts = texts or {}
    for number, rating in enumerate(ratings):
        registration = attendee(event, f"Personne {number}", joined=number < 3)
        services.save_answer(
            registration,
            services.AnswerData(rating=rating, most_useful=texts.get(number, "")),
            event.ends_at + timedelta(hours=number + 1),
        )
    db.session.commit()


def test_the_summary_counts_averages_and_spreads_in_two_queries(app, event):
    answered(event, [5, 4, 4, 2, 5, 1])
    attendee(event, "Sans réponse")  # joined, did not answer
    other = ended_event()
    answered(other, [1])
    db.session.refresh(event)  # loaded before counting: the summary's own queries only
    with QueryCounter(db.engine) as queries:
        summary = services.survey_summary(event)
    assert queries.count <= 2
    assert summary.answers == 6
    assert summary.attended == 4  # 3 who answered and joined, 1 who joined only
    assert summary.average == pytest.approx(21 / 6)
    assert summary.distribution == {1: 1, 2: 1, 3: 0, 4: 2, 5: 2}
    assert services.survey_summary(make_event()) == services.Summary()


def test_the_database_keeps_one_answer_per_registration_and_ratings_in_range(app, event):
    from sqlalchemy.exc import IntegrityError

    registration = attendee(event)
    answered_once = services.save_answer(registration, services.AnswerData(rating=3), now_utc())
    db.session.commit()
    for bad in (
        SurveyAnswer(registration_id=registration.id, event_id=event.id, rating=4),
        SurveyAnswer(registration_id=attendee(event, "B").id, event_id=event.id, rating=6),
    ):
        db.session.add(bad)
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
    assert [answer.id for answer in answers()] == [answered_once.id]


def test_the_back_office_page_shows_figures_an_accessible_chart_a_table_and_the_texts(client):
    event = ended_event(title="Lancement du kit")
    answered(event, [5, 4, 4, 2, 5], texts={0: "Les exemples concrets", 3: "Le rythme"})
    signed_in(client)

    detail = client.get(f"/admin/events/{event.id}").get_data(as_text=True)
    assert f'href="/admin/events/{event.id}/survey"' in detail

    page = client.get(f"/admin/events/{event.id}/survey")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    words = plain(page)
    assert "5 réponses pour 3 personnes connectées" in words
    assert "4,0 / 5 note moyenne" in words
    svg = ElementTree.fromstring(re.search(r"<svg.*?</svg>", html, re.S).group(0))
    assert svg.get("role") == "img"
    title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
    assert svg.get("aria-labelledby").split() == [title.get("id"), desc.get("id")]
    assert title.text == "Répartition des notes"
    assert "5 réponses, note moyenne 4,0 / 5." in desc.text
    assert "Note 4 : 2 réponses" in desc.text and "Note 3 : 0 réponse" in desc.text
    labels = [" ".join(node.text.split()) for node in svg.findall(f"{SVG}text")]
    assert labels[:2] == ["Note 5", "2 (40 %)"]  # the best rating on top, its count beside it
    widths = {bar.get("y"): float(bar.get("width")) for bar in svg.findall(f"{SVG}rect")}
    assert (
        sorted(widths.values())
        == [pytest.approx(max(widths.values()) / 2)] + [pytest.approx(max(widths.values()))] * 2
    )  # ratings 2 (1), 4 (2) and 5 (2); none drawn for 1 and 3
    table = re.search(r"<table>.*?</table>", html, re.S).group(0)
    assert "<caption>" in table
    assert re.search(r'<th scope="row">4 – Satisfait·e</th><td>2</td>', table)
    # Free text, newest first, under its question.
    assert words.index("Le rythme") < words.index("Les exemples concrets")
    assert f'href="/admin/events/{event.id}/survey.csv"' in html


def test_the_csv_opens_in_french_excel_with_formulas_kept_as_text(client):
    event = ended_event(slug="lancement-kit")
    answered(event, [5, 3], texts={0: "Tout", 1: '=HYPERLINK("http://evil")'})
    assert client.get(f"/admin/events/{event.id}/survey.csv").status_code in (302, 303)
    signed_in(client)
    response = client.get(f"/admin/events/{event.id}/survey.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "questionnaire-lancement-kit-" in disposition
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Note (1 à 5)",
        "Ce qui a été le plus utile",
        "Ce qu'il faudrait améliorer",
        "Sujets souhaités pour la suite",
        "Réponse donnée le",
        "Modifiée le",
    ]
    assert [row[:2] for row in rows[1:]] == [["5", "Tout"], ["3", '\'=HYPERLINK("http://evil")']]
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", rows[1][4])
    assert "event.survey_export" in audit_actions()


def test_the_settings_need_a_sign_in_and_each_button_does_what_it_says(client, event):
    base = f"/admin/events/{event.id}/survey"
    anonymous = client.post(
        base + "/disable", data={"csrf_token": csrf_token(client, "/admin/login")}
    )
    assert anonymous.status_code in (302, 303) and "/admin/login" in anonymous.headers["Location"]
    db.session.refresh(event)
    assert event.survey_enabled is True

    signed_in(client)
    assert client.post(base + "/disable").status_code == 400  # no CSRF token
    post = Poster(client)

    def state() -> tuple[bool, bool]:
        db.session.refresh(event)
        return event.survey_enabled, event.survey_closed_at is not None

    response = post(base + "/disable", follow_redirects=True)
    assert state() == (False, False)
    assert "Questionnaire désactivé pour cet événement." in text(response)
    assert "Activer le questionnaire" in text(response)
    post(base + "/enable")
    assert state() == (True, False)
    response = post(base + "/close", follow_redirects=True)
    assert state() == (True, True)
    assert "Clos le" in plain(response) and "Rouvrir le questionnaire" in text(response)
    again = post(base + "/close", follow_redirects=True)
    assert "Le questionnaire était déjà clos." in text(again)
    post(base + "/reopen")
    assert state() == (True, False)
    assert audit_actions() == [
        "event.survey_disable",
        "event.survey_enable",
        "event.survey_close",
        "event.survey_reopen",
    ]
    assert db.session.scalar(select(func.count()).select_from(SurveyAnswer)) == 0


def test_the_back_office_page_of_an_event_without_answers(client):
    event = make_event()
    signed_in(client)
    page = client.get(f"/admin/events/{event.id}/survey")
    assert page.status_code == 200
    assert "Aucune réponse pour le moment" in text(page)
    assert "il ouvrira à la fin de l'événement" in plain(page)
    assert (
        client.get(
            f"/admin/events/{event.id}/survey", headers={"Accept-Language": "en"}
        ).status_code
        == 200
    )


def test_the_retention_job_keeps_the_rating_and_forgets_what_was_written(client, event):
    from eventapp.registrations.models import Registration
    from eventapp.registrations.retention import anonymise_registrations

    registration = attendee(event)
    services.save_answer(
        registration,
        services.AnswerData(4, "Camille, de la mairie", "x", "y"),
        now_utc(),
    )
    db.session.commit()
    assert anonymise_registrations(Registration.id == registration.id) == 1
    db.session.commit()
    (answer,) = answers()
    assert answer.rating == 4
    assert (answer.most_useful, answer.to_improve, answer.next_topics) == ("", "", "")
