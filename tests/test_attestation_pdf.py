"""The attestation PDF: one A4 page of extractable text, its metadata, its QR code and fonts."""

from __future__ import annotations

import io
import logging
from dataclasses import replace

import pytest
from flask_babel import force_locale
from pypdf import PdfReader

from eventapp import create_app
from eventapp.attestations import pdf as attestation_pdf
from eventapp.attestations.pdf import AttestationData, render_attestation
from tests.conftest import base_config

DATA = AttestationData(
    organisation_name="Réseau des collectivités pour l'économie solidaire",
    organisation_address="12 rue des Coopératives, 75011 Paris",
    event_title="Tourisme et ESS : les territoires s’engagent",
    event_when="jeudi 10 décembre 2026, de 13 h 30 à 15 h 00",
    event_minutes=90,
    full_name="Élu·e Lefèvre œuvre",
    minutes_present=85,
    code="K7QF-3M9D-2XWA-8HPC-T4NR-6JYB",
    verify_url="https://events.test/attestations/K7QF-3M9D-2XWA-8HPC-T4NR-6JYB",
    issued_on="11 décembre 2026",
)


@pytest.fixture
def app(tmp_path):
    """Build an app without a database: the PDF is drawn from plain data."""
    app = create_app(base_config("sqlite://"), instance_path=str(tmp_path / "instance"))
    with app.test_request_context():
        yield app


def read(pdf: bytes) -> tuple[PdfReader, str]:
    """Return the parsed PDF and the text of its page, on one line."""
    reader = PdfReader(io.BytesIO(pdf))
    return reader, " ".join(reader.pages[0].extract_text().split())


def test_an_attestation_is_one_page_of_real_text(app):
    reader, text = read(render_attestation(DATA))
    assert len(reader.pages) == 1
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.1)  # A4
    assert "Attestation de présence" in text
    assert "Élu·e Lefèvre œuvre a suivi l'événement « Tourisme et ESS" in text
    assert "s’engagent" in text
    assert "pendant 1 h 25 sur 1 h 30." in text
    assert DATA.code in text
    assert DATA.verify_url in text
    assert "Fait le 11 décembre 2026." in text
    assert DATA.organisation_address in text


def test_an_attestation_says_its_language_title_and_author(app):
    reader, _ = read(render_attestation(DATA))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "fr"
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert reader.metadata.title == "Attestation de présence de Élu·e Lefèvre œuvre"
    assert reader.metadata.author == DATA.organisation_name
    assert reader.metadata.creator == "eventapp"
    assert "Tourisme et ESS" in reader.metadata.subject


def test_an_english_reader_gets_an_english_document(app):
    with force_locale("en"):
        reader, _ = read(render_attestation(DATA))
    assert reader.trailer["/Root"]["/Lang"] == "en"


def test_the_qr_code_is_an_image_with_an_alternative_text_and_the_url_a_link(app):
    reader, _ = read(render_attestation(DATA))
    page = reader.pages[0]
    assert len(page.images) == 1
    links = [annotation.get_object()["/A"]["/URI"] for annotation in page["/Annots"]]
    assert links and set(links) == {DATA.verify_url}
    document = reader.trailer["/Root"]["/StructTreeRoot"]["/K"][0].get_object()
    figure = document["/K"][0].get_object()
    assert figure["/S"] == "/Figure"
    assert figure["/Alt"] == f"Code QR menant à la page de vérification : {DATA.verify_url}"


def test_a_long_title_wraps_on_the_page(app):
    title = " ".join(["Économie sociale et solidaire dans les territoires ruraux"] * 3)
    long = replace(DATA, event_title=title[:200], full_name="Marie-" + "Anne" * 40)
    reader, text = read(render_attestation(long))
    assert len(reader.pages) == 1
    assert "ruraux Économie" in text  # the title is written in full, over several lines


def test_without_its_font_an_attestation_falls_back_to_helvetica(app, caplog):
    app.config["ATTESTATION_FONT"] = "/nonexistent/Missing.ttf"
    attestation_pdf._warn_missing_font.cache_clear()
    with caplog.at_level(logging.WARNING, logger="eventapp.attestations.pdf"):
        render_attestation(DATA)
        reader, text = read(render_attestation(replace(DATA, full_name="Łucja Lefèvre œuvre")))
    assert len(reader.pages) == 1
    assert "?ucja Lefèvre œuvre a suivi" in text  # what WinAnsi lacks is written "?"
    assert "s’engagent" in text
    fonts = reader.pages[0]["/Resources"]["/Font"].get_object().values()
    assert {font.get_object()["/BaseFont"] for font in fonts} == {"/Helvetica", "/Helvetica-Bold"}
    warnings = [r.getMessage() for r in caplog.records if "Missing.ttf" in r.getMessage()]
    assert len(warnings) == 1  # once, not for every document


def fonts_of(reader: PdfReader) -> set[str]:
    fonts = reader.pages[0]["/Resources"]["/Font"]
    return {str(fonts[name].get_object()["/BaseFont"]) for name in fonts}


def test_french_text_needs_no_embedded_font_and_other_letters_get_one(app):
    french = PdfReader(io.BytesIO(render_attestation(DATA)))  # é, œ, ’, · are all in WinAnsi
    assert all("Helvetica" in font for font in fonts_of(french))
    reader, text = read(render_attestation(replace(DATA, full_name="Łucja Nowak")))
    assert "Łucja Nowak" in text
    assert not any("Helvetica" in font for font in fonts_of(reader))  # the Unicode font


def test_the_font_is_parsed_once_for_all_documents(app):
    render_attestation(replace(DATA, full_name="Łucja Nowak"))
    parsed = attestation_pdf._parsed_font.cache_info()
    render_attestation(replace(DATA, full_name="Ana Ødegård Łukasz"))
    assert attestation_pdf._parsed_font.cache_info().misses == parsed.misses
    _, text = read(render_attestation(replace(DATA, full_name="Ana Ødegård Łukasz")))
    assert "Ana Ødegård Łukasz" in text
