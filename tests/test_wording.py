"""Counts agree with their number in French and English, and kit titles fit any sentence."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from eventapp.admin.forms.events import reminder_label
from eventapp.i18n import chars_at_most
from tests.factories import make_event
from tests.helpers import text
from tests.kit_helpers import make_kit


@pytest.mark.parametrize(
    ("lang", "limit", "wanted"),
    [
        ("fr", 1, "1 caractère au plus."),
        ("fr", 200, "200 caractères au plus."),
        ("en", 1, "1 character at most."),
        ("en", 200, "200 characters at most."),
    ],
)
def test_a_length_limit_is_said_in_the_readers_language_and_number(app, lang, limit, wanted):
    message = chars_at_most(limit)  # built once, as a form class does at import
    with force_locale(lang):
        assert str(message) == wanted


def test_a_custom_reminder_agrees_with_its_minutes(app):
    with force_locale("fr"):
        assert (reminder_label(1), reminder_label(90)) == ("1 minute avant", "90 minutes avant")
    with force_locale("en"):
        assert (reminder_label(1), reminder_label(90)) == ("1 minute before", "90 minutes before")


@pytest.mark.parametrize(
    ("lang", "wanted"),
    [("fr", "effacée après 1 heure."), ("en", "erased after 1 hour.")],
)
def test_the_privacy_page_writes_a_single_hour_in_the_singular(app, client, lang, wanted):
    app.config["KIT_CONFIRM_VALID_HOURS"] = 1
    page = text(client.get("/confidentialite", headers={"Accept-Language": lang}))
    assert wanted in page


@pytest.mark.parametrize(
    ("days", "wanted"),
    [(365, "conservées 1 an après l'événement"), (400, "conservées 400 jours après")],
)
def test_the_registration_notice_says_the_retention_as_configured(app, client, days, wanted):
    app.config["REGISTRATION_RETENTION_DAYS"] = days
    event = make_event()
    page = text(client.get(f"/events/{event.slug}/register"))
    assert wanted in page


def test_a_kit_title_of_any_gender_reads_well(app, client):
    kit = make_kit(title="Boîte à outils de l'ESS", slug="boite")
    page = text(client.get(f"/kits/{kit.slug}"))
    assert "Boîte à outils de l'ESS : les fiches pratiques à télécharger" in page
    assert " du Boîte" not in page and " au Boîte" not in page
