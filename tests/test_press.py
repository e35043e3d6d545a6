"""Press room: releases and their embargo, contacts and vCards, files, and the inquiry form."""

from __future__ import annotations

import io
from datetime import date, timedelta
from email.utils import getaddresses
from html.parser import HTMLParser

import pytest
from flask_babel import force_locale, gettext, ngettext
from PIL import Image
from sqlalchemy import event as sql_event
from sqlalchemy import func, select

from eventapp.demo import LAUNCH_SLUG, PRESS_RELEASE_SLUG, load_demo
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage
from eventapp.press import services, storage
from eventapp.press.models import (
    InquiryStatus,
    PressContact,
    PressInquiry,
    PressRelease,
    published_releases,
)
from eventapp.press.vcard import escape_text, fold
from tests.factories import add_speaker, make_event, make_speaker
from tests.helpers import csrf_token, text

ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def make_contact(**fields) -> PressContact:
    values = {"name": "Claire Dumas", "email": "claire@example.org", "phone": "06 12 34 56 78"}
    values.update(fields)
    contact = PressContact(**values)
    db.session.add(contact)
    db.session.commit()
    return contact


def make_release(**fields) -> PressRelease:
    values = {
        "slug": "communique",
        "title": "Un communiqué",
        "summary": "Ce qu'il faut savoir.",
        "body": "Le texte du **communiqué**.",
        "dateline_place": "Lille",
        "dateline_date": date(2021, 2, 22),
        "published_at": now_utc() - timedelta(hours=1),
    }
    values.update(fields)
    release = PressRelease(**values)
    db.session.add(release)
    db.session.commit()
    return release


class MetaTags(HTMLParser):
    """Collect <meta property=... content=...> of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.properties: dict[str, str] = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag == "meta" and "property" in found:
            self.properties[found["property"]] = found["content"]


@pytest.fixture
def demo(app):
    load_demo(as_published=True)  # the seeds' own dates: the release of 22 February 2021
    db.session.commit()


@pytest.fixture
def uploads(app, tmp_path):
    app.config["PRESS_UPLOAD_FOLDER"] = str(tmp_path / "uploads")  # never the real instance folder
    return tmp_path / "uploads"


# Pages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/press", f"/press/{PRESS_RELEASE_SLUG}", "/press/contact", "/press/contact/thanks"]
)
def test_press_pages_render_in_french_and_in_english(client, demo, url):
    french = client.get(url)
    english = client.get(url, headers=ENGLISH)
    assert french.status_code == english.status_code == 200
    assert '<html lang="fr">' in text(french)
    assert '<html lang="en">' in text(english)
    assert "Skip to content" in text(english)


def test_the_release_page_shows_dateline_body_event_speakers_and_contact(client, demo):
    french = text(client.get(f"/press/{PRESS_RELEASE_SLUG}"))
    english = text(client.get(f"/press/{PRESS_RELEASE_SLUG}", headers=ENGLISH))
    assert "Lille, le 22 février 2021" in french
    assert "Lille, 22 February 2021" in english
    assert "<strong>kit RégionalESS</strong>" in french  # the Markdown body, rendered
    assert f'href="/events/{LAUNCH_SLUG}"' in french
    event = services.public_release(PRESS_RELEASE_SLUG, now_utc()).event
    day = event.starts_at.astimezone(event.tz)
    assert f"jeudi {day.day} " in french and "13 h 30 – 14 h, heure de Paris" in french
    assert f"Thursday, {day:%B} {day.day}, {day.year}" in english
    for name in ("Mahel Coppey", "Pascal Duforestel", "Catherine Zuber", "Martin Besnier"):
        assert name in french
    assert 'href="mailto:mbesnier@rtes.fr"' in french
    assert 'href="tel:+33781500646"' in french
    assert "La Grappe, 75 rue Léon Gambetta, 59000 Lille" in french


def test_the_release_page_has_open_graph_tags(app, client, uploads):
    release = make_release(summary="Vingt fiches pour les régions.")
    meta = MetaTags(text(client.get("/press/communique"))).properties
    assert meta["og:type"] == "article"
    assert meta["og:title"] == "Un communiqué"
    assert meta["og:description"] == "Vingt fiches pour les régions."
    assert meta["og:url"] == "https://events.test/press/communique"
    assert "og:image" not in meta

    picture = io.BytesIO()
    Image.new("RGB", (1200, 630), "purple").save(picture, "PNG")
    picture.seek(0)
    storage.set_release_image(release, picture, alt="Affiche du lancement")
    db.session.commit()
    meta = MetaTags(text(client.get("/press/communique"))).properties
    assert (
        meta["og:image"] == f"https://events.test/press/communique/image/{release.image_filename}"
    )
    assert (meta["og:image:width"], meta["og:image:height"]) == ("1200", "630")
    with client.get(meta["og:image"].removeprefix("https://events.test")) as image:
        assert image.status_code == 200 and image.mimetype == "image/png"
        assert image.headers["X-Content-Type-Options"] == "nosniff"


def test_the_description_falls_back_to_the_start_of_the_body(app, client):
    make_release(summary="", body="## Titre\n\nPremier *paragraphe* " + "mot " * 100)
    meta = MetaTags(text(client.get("/press/communique"))).properties
    assert meta["og:description"].startswith("Titre Premier paragraphe mot")
    assert meta["og:description"].endswith("…") and len(meta["og:description"]) <= 201


def test_the_body_is_sanitised(client):
    make_release(body='Bonjour <script>alert(1)</script> <a href="javascript:alert(2)">x</a>')
    # Raw HTML in a body shows as escaped text: read the page as sent, entities not decoded.
    html = client.get("/press/communique").get_data(as_text=True)
    assert "<script>alert(1)" not in html and '<a href="javascript:' not in html


def test_the_press_room_lists_releases_newest_first_and_every_contact(client):
    make_release(slug="ancien", title="Ancien", dateline_date=date(2020, 5, 1))
    make_release(slug="recent", title="Récent", dateline_date=date(2021, 3, 1))
    make_contact(name="Claire Dumas", position=1)
    first = make_contact(name="Martin Besnier", email="mbesnier@rtes.fr", phone="07 81 50 06 46")
    html = text(client.get("/press"))
    assert html.index("Récent") < html.index("Ancien")
    assert "Lille, le 1er mars 2021" in html  # French writes the first of the month "1er"
    assert html.index("Martin Besnier") < html.index("Claire Dumas")
    assert f'href="/press/contacts/{first.id}.vcf"' in html
    assert 'href="tel:+33781500646"' in html and 'href="tel:+33612345678"' in html
    assert 'href="/press/feed.atom"' in html


def queries_for(client, url: str) -> int:
    """Count the SQL statements one request to `url` runs."""
    statements = []

    def record(*_args):
        statements.append(1)

    sql_event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        sql_event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


def test_the_press_pages_run_a_fixed_number_of_queries(client):
    def add_release(number: int, people: int) -> None:
        launch = make_event()
        for position in range(people):
            add_speaker(launch, make_speaker(), position=position)
        contacts = [make_contact(email=f"c{number}-{n}@example.org") for n in range(people)]
        release = make_release(slug=f"communique-{number}", event=launch)
        release.contacts.extend(contacts)
        db.session.commit()

    add_release(1, people=1)
    few = queries_for(client, "/press"), queries_for(client, "/press/communique-1")
    for number in range(2, 7):
        add_release(number, people=5)
    many = queries_for(client, "/press"), queries_for(client, "/press/communique-6")
    assert many == few


# Embargo -----------------------------------------------------------------------------------------


def test_an_embargoed_release_is_invisible_everywhere_until_its_time(app, client, uploads):
    now = now_utc()
    release = make_release(
        slug="sous-embargo", title="Sous embargo", published_at=now + timedelta(days=1)
    )
    make_release(slug="brouillon", title="Brouillon", published_at=None)
    storage.add_pdf_attachment(release, io.BytesIO(b"%PDF-1.7\n%%EOF\n"), "Dossier", "kit.pdf")
    db.session.commit()
    attachment = release.attachments[0]

    for url in ("/press", "/press/feed.atom"):
        page = text(client.get(url))
        assert "Sous embargo" not in page and "Brouillon" not in page
    for url in (
        "/press/sous-embargo",
        "/press/brouillon",
        f"/press/sous-embargo/files/{attachment.id}",
        "/press/contact?release=sous-embargo",
    ):
        assert client.get(url).status_code == 404, url

    # The organisers' list has both; the public query, asked about a later time, shows the first.
    assert {r.slug for r in services.releases_for_organisers()} == {"sous-embargo", "brouillon"}
    later = now + timedelta(days=1, seconds=1)
    assert [r.slug for r in db.session.scalars(published_releases(later))] == ["sous-embargo"]
    assert release.is_published(later) and not release.is_published(now)

    release.published_at = now - timedelta(seconds=1)  # the embargo is over
    db.session.commit()
    assert client.get("/press/sous-embargo").status_code == 200
    with client.get(f"/press/sous-embargo/files/{attachment.id}") as download:
        assert download.status_code == 200
    assert "Sous embargo" in text(client.get("/press/feed.atom"))


# Files -------------------------------------------------------------------------------------------


def test_a_press_kit_pdf_is_stored_under_a_generated_name_and_downloaded(app, client, uploads):
    release = make_release()
    content = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"
    attachment = storage.add_pdf_attachment(
        release, io.BytesIO(content), "Dossier de presse", "../../Dossier de presse.pdf"
    )
    db.session.commit()
    assert storage.STORED_NAME.match(attachment.stored_name)
    assert [p.name for p in uploads.iterdir()] == [attachment.stored_name]
    assert attachment.original_name == "Dossier de presse.pdf"

    assert "Dossier de presse" in text(client.get("/press/communique"))
    with client.get(f"/press/communique/files/{attachment.id}") as response:
        assert response.status_code == 200
        assert response.data == content
        assert response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"].startswith("attachment;")
    assert client.get(f"/press/communique/files/{attachment.id + 1}").status_code == 404


@pytest.mark.parametrize(
    "content",
    [b"<html><script>alert(1)</script></html>", b"MZ\x90\x00 not a pdf", b""],
)
def test_a_file_that_is_not_a_pdf_is_refused(app, uploads, content):
    release = make_release()
    with pytest.raises(storage.UploadRejected):
        storage.add_pdf_attachment(release, io.BytesIO(content), "Dossier", "dossier.pdf")
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_files_over_the_size_limit_are_refused(app, uploads):
    app.config["PRESS_MAX_ATTACHMENT_BYTES"] = 100
    release = make_release()
    with pytest.raises(storage.UploadRejected):
        storage.add_pdf_attachment(release, io.BytesIO(b"%PDF-" + b"x" * 100), "Gros", "gros.pdf")


@pytest.mark.parametrize("content", [b"%PDF-1.4 not an image", b"\x89PNG\r\n\x1a\n broken"])
def test_an_image_is_checked_by_its_content(app, uploads, content):
    release = make_release()
    with pytest.raises(storage.UploadRejected):
        storage.set_release_image(release, io.BytesIO(content), alt="")
    assert release.image_filename is None


def test_only_generated_names_are_ever_served(app):
    for name in ("../config.py", "x.pdf", "0" * 32 + ".html"):
        with pytest.raises(ValueError):
            storage.stored_path(name)


# Contacts and vCards -----------------------------------------------------------------------------


def test_a_contact_downloads_as_a_vcard(client, demo):
    contact = db.session.scalars(select(PressContact)).one()
    response = client.get(f"/press/contacts/{contact.id}.vcf")
    assert response.status_code == 200
    assert response.mimetype == "text/vcard"
    assert 'filename="martin-besnier.vcf"' in response.headers["Content-Disposition"]
    card = response.get_data(as_text=True)
    assert card.startswith("BEGIN:VCARD\r\nVERSION:4.0\r\n") and card.endswith("END:VCARD\r\n")
    lines = card.split("\r\n")
    assert "FN:Martin Besnier" in lines
    assert "N:Besnier;Martin;;;" in lines
    assert "EMAIL;TYPE=work:mbesnier@rtes.fr" in lines
    assert "TEL;VALUE=uri;TYPE=work,voice:tel:+33781500646" in lines
    assert "ADR;TYPE=work:;;La Grappe\\, 75 rue Léon Gambetta;Lille;;59000;France" in lines
    assert client.get(f"/press/contacts/{contact.id + 1}.vcf").status_code == 404


def test_vcard_values_are_escaped_and_long_lines_folded(client):
    contact = make_contact(
        name="Zoé Martin-Lefèvre",
        role="Attachée de presse; relations médias, régions\\territoires",
        organisation="Réseau des collectivités Territoriales pour une Economie Solidaire, Lille",
    )
    card = client.get(f"/press/contacts/{contact.id}.vcf").get_data(as_text=True)
    for line in card.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
    unfolded = card.replace("\r\n ", "")
    assert "TITLE:Attachée de presse\\; relations médias\\, régions\\\\territoires\r\n" in unfolded
    organisation = "Réseau des collectivités Territoriales pour une Economie Solidaire\\, Lille"
    assert f"ORG:{organisation}\r\n" in unfolded
    assert escape_text("a\nb\r\nc") == "a\\nb\\nc"
    folded = fold("NOTE:" + "é" * 60)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == "NOTE:" + "é" * 60


# The inquiry form --------------------------------------------------------------------------------

GOOD = {
    "name": "Léa Fontaine",
    "outlet": "La Voix du Nord",
    "email": "lea.fontaine@example.org",
    "phone": "06 12 34 56 78",
    "subject": "Entretien sur le kit RégionalESS",
    "message": "Bonjour,\r\nPourrais-je interviewer la présidente du RTES cette semaine ?"
    "\r\nMerci.",
}


def send_inquiry(client, url="/press/contact", headers=None, with_token=True, **changes):
    """Fill in the inquiry form as a browser would, then post it."""
    data = {**GOOD, **changes}
    if with_token:
        data["csrf_token"] = csrf_token(client, url)
    return client.post(url, data=data, headers=headers or {})


def deliver(runner) -> None:
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_an_inquiry_is_stored_and_both_mails_are_received(app, client, runner, smtp_server, demo):
    response = send_inquiry(client, f"/press/contact?release={PRESS_RELEASE_SLUG}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/press/contact/thanks"
    assert "Merci" in text(client.get(response.headers["Location"]))

    inquiry = db.session.scalars(select(PressInquiry)).one()
    assert (inquiry.name, inquiry.outlet, inquiry.email) == (
        "Léa Fontaine",
        "La Voix du Nord",
        "lea.fontaine@example.org",
    )
    assert inquiry.phone == "+33 6 12 34 56 78"
    assert inquiry.message == GOOD["message"].replace("\r\n", "\n")
    assert inquiry.status == InquiryStatus.NEW and inquiry.locale == "fr"
    assert inquiry.release.slug == PRESS_RELEASE_SLUG
    contact = db.session.scalars(select(PressContact)).one()
    assert sorted(db.session.scalars(select(OutboxMessage.dedupe_key))) == [
        f"press-inquiry:{inquiry.id}:ack",
        f"press-inquiry:{inquiry.id}:contact:{contact.id}",
    ]

    deliver(runner)
    assert smtp_server.wait_for(2)
    by_recipient = {getaddresses([m["To"]])[0][1]: m for m in smtp_server.messages}
    notification = by_recipient["mbesnier@rtes.fr"]
    assert notification["Reply-To"] == "lea.fontaine@example.org"
    assert notification["Subject"] == "Demande presse : Entretien sur le kit RégionalESS"
    content = body(notification)
    assert "Pourrais-je interviewer la présidente du RTES cette semaine ?" in content
    assert "La Voix du Nord" in content and "+33 6 12 34 56 78" in content
    assert "Le RTES lance le kit RégionalESS" in content  # the release it is about

    ack = by_recipient["lea.fontaine@example.org"]
    assert getaddresses([ack["To"]])[0][0] == "Léa Fontaine"
    assert ack["Subject"] == "Votre message à l'équipe presse de RTES est bien arrivé"
    assert "Bonjour Léa Fontaine," in body(ack)
    assert "mbesnier@rtes.fr" in body(ack)
    # The acknowledgement never repeats the message: the form must not relay anyone's text.
    assert "interviewer" not in body(ack)


def test_the_acknowledgement_is_in_the_language_of_the_page(app, client, runner, smtp_server, demo):
    response = send_inquiry(client, headers=ENGLISH)
    assert response.status_code == 303
    assert db.session.scalars(select(PressInquiry)).one().locale == "en"
    rows = {row.dedupe_key.split(":")[-1]: row for row in db.session.scalars(select(OutboxMessage))}
    assert rows["ack"].locale == "en"
    assert rows["ack"].to_address == "lea.fontaine@example.org"
    deliver(runner)
    assert smtp_server.wait_for(2)
    with force_locale("en"):
        greeting = gettext("Bonjour %(name)s,", name="Léa Fontaine")
    ack = next(m for m in smtp_server.messages if "lea.fontaine" in m["To"])
    assert greeting in body(ack)


def test_without_press_contacts_the_organisation_hears_of_the_inquiry(app, client, demo):
    db.session.execute(db.delete(PressContact))
    db.session.commit()
    assert send_inquiry(client).status_code == 303
    inquiry = db.session.scalars(select(PressInquiry)).one()
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert {(row.dedupe_key, row.to_address) for row in rows} == {
        (f"press-inquiry:{inquiry.id}:organisation", "mbesnier@rtes.fr"),
        (f"press-inquiry:{inquiry.id}:ack", "lea.fontaine@example.org"),
    }


def expected(lang: str, message: str | tuple[str, str], **values) -> str:
    """Return an error message as the visitor reads it in `lang`; a pair is a plural."""
    with force_locale(lang):
        if isinstance(message, tuple):
            return ngettext(*message, **values)
        return gettext(message, **values)


SHORTEN = "Raccourcissez-le ou joignez vos documents à votre réponse par mail."
TOO_LONG = (
    f"Le message est trop long : %(num)d caractère pour %(limit)d au plus. {SHORTEN}",
    f"Le message est trop long : %(num)d caractères pour %(limit)d au plus. {SHORTEN}",
)
ONE_LINE = "Ce champ doit tenir sur une seule ligne."
BAD_EMAIL = "Indiquez une adresse mail valide, par exemple nom@journal.fr."
ACCENTED_MAILBOX = (
    "Cette adresse contient des caractères accentués avant l'arobase, que notre service de "
    "messagerie ne sait pas encore acheminer : utilisez une autre adresse."
)
BAD_PHONE = "Indiquez un numéro de téléphone valide, par exemple 06 12 34 56 78."
BAD_INPUT = [
    pytest.param({"message": "x" * 5001}, TOO_LONG, {"num": 5001, "limit": 5000}, id="oversized"),
    pytest.param({"name": "Eve\r\nBcc: victim@example.org"}, ONE_LINE, {}, id="crlf-name"),
    pytest.param({"email": "eve@example.org\r\nBcc: v@example.org"}, ONE_LINE, {}, id="crlf-email"),
    pytest.param({"subject": "Hello\nBcc: victim@example.org"}, ONE_LINE, {}, id="lf-subject"),
    pytest.param({"outlet": "Journal\rX-Spam: yes"}, ONE_LINE, {}, id="cr-outlet"),
    pytest.param({"phone": "0612345678\r\nBcc: x@example.org"}, ONE_LINE, {}, id="crlf-phone"),
    pytest.param({"email": "not-an-address"}, BAD_EMAIL, {}, id="invalid-email"),
    pytest.param({"email": "lea@example..org"}, BAD_EMAIL, {}, id="invalid-domain"),
    pytest.param({"email": "jösé@example.com"}, ACCENTED_MAILBOX, {}, id="accented-mailbox"),
    pytest.param(
        {"message": "Bonjour\x00"},
        "Le message contient un caractère invisible non autorisé.",
        {},
        id="nul",
    ),
    pytest.param({"name": "   "}, "Ce champ est obligatoire.", {}, id="blank-name"),
    pytest.param({"phone": "12"}, BAD_PHONE, {}, id="phone"),
]


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize(("changes", "message", "values"), BAD_INPUT)
def test_bad_input_gets_a_clear_error_and_stores_and_sends_nothing(
    app, client, demo, lang, changes, message, values
):
    response = send_inquiry(client, headers={"Accept-Language": lang}, **changes)
    assert response.status_code == 422
    html = text(response)
    assert f'<html lang="{lang}">' in html
    assert 'class="error-summary"' in html
    assert str(expected(lang, message, **values)) in html  # text() has unescaped the page
    assert count(PressInquiry) == 0
    assert count(OutboxMessage) == 0


def test_an_inquiry_from_an_international_domain_is_taken(app, client, demo):
    response = send_inquiry(client, email="lea@exämple.fr")
    assert response.status_code == 303
    (inquiry,) = db.session.scalars(select(PressInquiry))
    assert inquiry.email == "lea@exämple.fr"
    assert "lea@xn--exmple-cua.fr" in set(db.session.scalars(select(OutboxMessage.to_address)))


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_missing_csrf_token_keeps_what_was_typed_and_stores_nothing(app, client, demo, lang):
    response = send_inquiry(client, headers={"Accept-Language": lang}, with_token=False)
    assert response.status_code == 400
    html = text(response)
    notice = expected(
        lang,
        "Votre message n'a pas été envoyé : le formulaire a expiré ou ne venait pas de ce site. "
        "Vérifiez vos informations ci-dessous, puis envoyez-le à nouveau.",
    )
    assert notice in html  # a template string: not escaped
    assert 'value="La Voix du Nord"' in html  # nothing typed is lost
    assert 'name="csrf_token"' in html  # and a fresh token lets the visitor send it again
    assert count(PressInquiry) == 0
    assert count(OutboxMessage) == 0


@pytest.mark.parametrize("url", ["/press/contact", "/press/contact?release=unknown"])
def test_a_wrong_csrf_token_is_refused_too(app, client, demo, url):
    csrf_token(client, "/press/contact")
    response = client.post(url, data={**GOOD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert count(PressInquiry) == 0


def test_the_honeypot_pretends_success_and_keeps_nothing(app, client, demo):
    response = send_inquiry(client, website="https://spam.example")
    assert response.status_code == 303
    assert response.headers["Location"] == "/press/contact/thanks"
    assert count(PressInquiry) == 0
    assert count(OutboxMessage) == 0


def test_the_form_uses_the_shared_field_macros_and_is_labelled(client, demo):
    html = text(client.get("/press/contact"))
    for field in ("name", "outlet", "email", "phone", "subject", "message"):
        assert f'<label for="{field}">' in html
    assert 'autocomplete="email"' in html and 'type="email"' in html and 'type="tel"' in html
    assert '<div class="visually-hidden" aria-hidden="true">' in html  # the honeypot
    assert "Martin Besnier" in html  # who will read the message


@pytest.mark.parametrize(
    ("lang", "title"), [("fr", "Trop de demandes"), ("en", "Too many requests")]
)
def test_the_rate_limit_answers_429_with_a_readable_page(app, client, demo, lang, title):
    app.config["PRESS_INQUIRY_RATE_LIMIT"] = "2 per day"
    token = csrf_token(client, "/press/contact")
    crowd = {"REMOTE_ADDR": "203.0.113.7"}
    headers = {"Accept-Language": lang}
    for _ in range(2):
        refused = client.post(
            "/press/contact", data={"csrf_token": token}, headers=headers, environ_base=crowd
        )
        assert refused.status_code == 422  # empty form: counted, not stored
    response = client.post(
        "/press/contact", data={**GOOD, "csrf_token": token}, headers=headers, environ_base=crowd
    )
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    html = text(response)
    assert f'<html lang="{lang}">' in html and f"<h1>{title}</h1>" in html
    assert (
        expected(
            lang,
            "Vous avez envoyé trop de demandes en peu de temps. Merci de patienter "
            "une minute avant de réessayer.",
        ).replace("'", "&#39;")
        in html
    )
    assert count(PressInquiry) == 0
    # Reading the form is never limited, and another address still gets through.
    assert client.get("/press/contact", environ_base=crowd).status_code == 200
    other = client.post(
        "/press/contact",
        data={**GOOD, "csrf_token": token},
        environ_base={"REMOTE_ADDR": "198.51.100.9"},
    )
    assert other.status_code == 303
    assert count(PressInquiry) == 1


# Services for the back office and the demo -------------------------------------------------------


def test_organisers_mark_inquiries_handled(app, client, demo):
    send_inquiry(client)
    inquiry = services.inquiries_for_organisers(InquiryStatus.NEW)[0]
    moment = now_utc()
    services.set_inquiry_handled(inquiry, now=moment)
    db.session.commit()
    assert services.inquiries_for_organisers(InquiryStatus.NEW) == []
    assert inquiry.status == InquiryStatus.HANDLED and inquiry.handled_at == moment
    services.set_inquiry_handled(inquiry, handled=False)
    assert inquiry.status == InquiryStatus.NEW and inquiry.handled_at is None


def test_a_release_without_contacts_uses_the_default_ones(app):
    default = make_contact(is_default=True)
    make_contact(name="Autre", email="autre@example.org")
    release = make_release()
    assert services.release_contacts(release) == [default]
    own = make_contact(name="Dédiée", email="dediee@example.org")
    release.contacts.append(own)
    db.session.commit()
    assert services.release_contacts(release) == [own]


def test_the_release_page_shows_the_event_date_and_its_speakers(client):
    event = make_event(title="Lancement")
    add_speaker(event, make_speaker(name="Mahel Coppey", role_line="Présidente du RTES"))
    make_release(event=event)
    html = text(client.get("/press/communique"))
    assert "Lancement" in html and "Mahel Coppey" in html and "Présidente du RTES" in html
    assert "heure de Paris" in html


def test_a_draft_event_is_not_shown_on_a_release(client):
    from eventapp.events.models import EventStatus

    make_release(event=make_event(title="Secret", status=EventStatus.DRAFT))
    assert "Secret" not in text(client.get("/press/communique"))


def test_the_demo_press_release_loads_once(app):
    for _ in range(2):
        load_demo(as_published=True)
        db.session.commit()
    assert (count(PressRelease), count(PressContact)) == (1, 1)
    release = db.session.scalars(select(PressRelease)).one()
    assert release.event.slug == LAUNCH_SLUG
    assert [c.email for c in release.contacts] == ["mbesnier@rtes.fr"]
    assert services.format_dateline(release.dateline_place, release.dateline_date, "fr") == (
        "Lille, le 22 février 2021"
    )
    assert services.format_dateline(release.dateline_place, release.dateline_date, "en") == (
        "Lille, 22 February 2021"
    )
