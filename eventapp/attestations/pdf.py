"""The PDF of an attestation of presence: one A4 page of real text, with a QR code."""

from __future__ import annotations

import copy
import functools
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import segno
from flask import current_app
from flask_babel import get_locale, gettext
from fontTools import subset
from fontTools.ttLib import TTFont
from fpdf import FPDF, ViewerPreferences, XPos, YPos
from fpdf.fonts import SubsetMap, TTFFont

from eventapp.i18n import format_duration

log = logging.getLogger(__name__)

DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FAMILY = "attestation"
FALLBACK_FAMILY = "helvetica"

# What names and titles are written in, and what a DejaVu-like font covers: Latin (Vietnamese
# included), combining accents, Greek, Cyrillic, punctuation (’ « » · –), currencies, letterlike.
KEPT_CHARACTERS = [
    *range(0x20, 0x7F),
    *range(0xA0, 0x250),
    *range(0x300, 0x530),
    *range(0x1E00, 0x1F00),
    *range(0x2000, 0x2070),
    *range(0x20A0, 0x20D0),
    *range(0x2100, 0x2150),
]

# Spaces and dashes the core fonts' WinAnsi encoding lacks, written with their nearest look-alike.
WINANSI_LOOKALIKES = str.maketrans({"\u202f": "\u00a0", "\u2011": "-", "\u2212": "-"})


@dataclass(frozen=True)
class AttestationData:
    """What an attestation says, every text already written in the reader's language."""

    organisation_name: str
    organisation_address: str
    event_title: str
    event_when: str
    event_minutes: int
    full_name: str
    minutes_present: int
    code: str
    verify_url: str
    issued_on: str


def render_attestation(data: AttestationData) -> bytes:
    """Draw an attestation on one A4 page, in the current language, and return the PDF."""
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 20, 20)
    heading = gettext("Attestation de présence")
    statement = gettext(
        "%(organisation)s atteste que %(name)s a suivi l'événement « %(title)s », "
        "%(when)s, pendant %(minutes)s sur %(length)s.",
        organisation=data.organisation_name,
        name=data.full_name,
        title=data.event_title,
        when=data.event_when,
        minutes=format_duration(timedelta(minutes=data.minutes_present)),
        length=format_duration(timedelta(minutes=data.event_minutes)),
    )
    issued = gettext("Fait le %(date)s.", date=data.issued_on)
    code_line = gettext("Code de vérification : %(code)s", code=data.code)
    how = gettext(
        "Pour vérifier cette attestation, ouvrez l'adresse ci-dessous "
        "ou lisez le code QR avec un téléphone."
    )
    drawn = [heading, statement, issued, data.organisation_name, data.organisation_address]
    family, plain = _use_fonts(pdf, [*drawn, code_line, how, data.verify_url])
    pdf.set_lang(_language())
    pdf.set_title(gettext("Attestation de présence de %(name)s", name=data.full_name))
    pdf.set_subject(
        gettext(
            "Présence à l'événement « %(title)s », %(when)s",
            title=data.event_title,
            when=data.event_when,
        )
    )
    pdf.set_author(data.organisation_name)
    pdf.set_creator("eventapp")
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)
    pdf.add_page()

    # Drawn top to bottom in reading order: the order of the page is the order read aloud.
    def paragraph(text: str, size: float, style: str = "", align: str = "L") -> None:
        """Write a block of text under the previous one, wrapped to the margins."""
        pdf.set_font(family, style, size)
        pdf.multi_cell(0, size * 0.5, plain(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    paragraph(heading, 22, "B", align="C")
    pdf.ln(12)
    paragraph(statement, 13)
    pdf.ln(10)
    paragraph(issued, 12)
    pdf.ln(4)
    paragraph(data.organisation_name, 12, "B")
    if data.organisation_address:
        paragraph(data.organisation_address, 11)

    pdf.ln(16)
    paragraph(code_line, 10, "B")
    paragraph(how, 10)
    pdf.set_text_color(0, 0, 160)
    pdf.set_font(family, "U", 10)
    pdf.multi_cell(
        0, 5, plain(data.verify_url), link=data.verify_url, new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.set_text_color(0)
    pdf.ln(3)
    pdf.image(
        _qr_png(data.verify_url),
        w=35,
        link=data.verify_url,
        alt_text=gettext("Code QR menant à la page de vérification : %(url)s", url=data.verify_url),
    )
    return bytes(pdf.output())


def _language() -> str:
    """Return the language of the reader, "fr" or "en"."""
    locale = get_locale()
    return locale.language if locale else current_app.config["BABEL_DEFAULT_LOCALE"]


def _qr_png(url: str) -> io.BytesIO:
    """Draw the QR code of an address as a PNG in memory."""
    image = io.BytesIO()
    # Four pixels a module: sharp once printed at 35 mm, and quick to write.
    segno.make_qr(url).save(image, kind="png", scale=4, border=4)
    image.seek(0)
    return image


def _use_fonts(pdf: FPDF, texts: list[str]) -> tuple[str, Callable[[str], str]]:
    """Give a document Helvetica when WinAnsi writes all its text (French does: é, œ, ’, ·),
    else the configured Unicode font (Helvetica again, degraded, if its file is missing);
    return the family and the filter its text goes through."""
    if all(_in_winansi(text) for text in texts):
        # No font to embed: subsetting a TrueType font for each document costs more than
        # drawing the page, and 1,000 attestations after a training must come quickly.
        pdf.core_fonts_encoding = "cp1252"
        return FALLBACK_FAMILY, str
    regular = Path(current_app.config.get("ATTESTATION_FONT") or DEFAULT_FONT)
    if not regular.is_file():
        _warn_missing_font(str(regular))
        # Helvetica's WinAnsi encoding has é, œ, ’ and ·; what else it lacks is written "?".
        pdf.core_fonts_encoding = "cp1252"
        return FALLBACK_FAMILY, _winansi
    bold = regular.with_name(f"{regular.stem}-Bold{regular.suffix}")
    for style, path in (("", regular), ("B", bold if bold.is_file() else regular)):
        _add_parsed_font(pdf, str(path), style)
    return FAMILY, str


def _in_winansi(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _winansi(text: str) -> str:
    """Write text with what the core fonts can show."""
    return text.translate(WINANSI_LOOKALIKES).encode("cp1252", "replace").decode("cp1252")


@functools.cache
def _warn_missing_font(path: str) -> None:
    """Say once per process and path that attestations fall back to Helvetica."""
    log.warning(
        "Attestation font %s not found: attestations fall back to Helvetica, "
        "which writes only Western European letters.",
        path,
    )


def _add_parsed_font(pdf: FPDF, path: str, style: str) -> None:
    """Give a document its own copy of a font parsed once for all of them."""
    # fpdf2's add_font parses the font file for every document, and its output subsets the
    # font's tables in place: the copy shares what is only read (widths, glyph ids) and gets
    # fresh tables and a fresh subset map.
    font = copy.copy(_parsed_font(path, style))
    font.i = len(pdf.fonts) + 1
    font.ttfont = TTFont(io.BytesIO(_compact_font(path)), recalcTimestamp=False, lazy=True)
    font.subset = SubsetMap(font)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    pdf.fonts[font.fontkey] = font


@functools.cache
def _parsed_font(path: str, style: str) -> TTFFont:
    """Parse a font once per process."""
    return TTFFont(FPDF(), io.BytesIO(_compact_font(path)), f"{FAMILY}{style}", style)


@functools.cache
def _compact_font(path: str) -> bytes:
    """Return a font reduced to the characters an attestation may write, without hinting."""
    # A whole DejaVu (6,000 glyphs) takes longer to parse and subset than the page takes to
    # draw; fpdf2 drops the layout tables anyway when it embeds a font without text shaping.
    options = subset.Options()
    options.glyph_names = True
    options.hinting = False
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "MATH", "kern", "hdmx", "FFTM"]
    options.notdef_outline = True
    font = TTFont(path, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=KEPT_CHARACTERS)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()
