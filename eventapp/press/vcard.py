"""vCard 4.0 (RFC 6350) for a press contact, and phone numbers as tel: URIs."""

from __future__ import annotations

import re
import unicodedata
import uuid

import phonenumbers

from eventapp.press.models import PressContact


def phone_e164(phone: str, region: str) -> str | None:
    """Return the number in E.164 form ("+33781500646"), or None when it is not a number."""
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def escape_text(value: str) -> str:
    """Escape a vCard text value: backslash, comma, semicolon and line breaks."""
    value = value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character."""
    parts: list[bytes] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > 75:
            parts.append(current)
            current = b" "  # a continuation line starts with one space, counted in its 75
        current += encoded
    parts.append(current)
    return "\r\n".join(part.decode("utf-8") for part in parts)


def split_name(name: str) -> tuple[str, str]:
    """Split "Martin Besnier" into ("Besnier", "Martin"): family name last, as most names go."""
    given, _, family = name.strip().rpartition(" ")
    return family, given


def contact_vcard(contact: PressContact, source_url: str, region: str) -> str:
    """Return the contact as a vCard 4.0 text with CRLF line ends."""
    family, given = split_name(contact.name)
    lines = [
        "BEGIN:VCARD",
        "VERSION:4.0",
        "KIND:individual",
        # Stable for a given card address, so importing it again updates the same card.
        f"UID:urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, source_url)}",
        f"FN:{escape_text(contact.name)}",
        f"N:{escape_text(family)};{escape_text(given)};;;",
    ]
    if contact.organisation:
        lines.append(f"ORG:{escape_text(contact.organisation)}")
    if contact.role:
        lines.append(f"TITLE:{escape_text(contact.role)}")
    lines.append(f"EMAIL;TYPE=work:{escape_text(contact.email)}")
    e164 = phone_e164(contact.phone, region)
    if e164:
        lines.append(f"TEL;VALUE=uri;TYPE=work,voice:tel:{e164}")
    if contact.street or contact.city or contact.postcode:
        components = ["", "", contact.street, contact.city, "", contact.postcode, contact.country]
        lines.append("ADR;TYPE=work:" + ";".join(escape_text(part) for part in components))
    if contact.social_url:
        lines.append(f"SOCIALPROFILE:{contact.social_url}")
    elif contact.social_handle:
        lines.append(f"NOTE:{escape_text(contact.social_handle)}")
    lines.append(f"SOURCE:{source_url}")
    lines.append("END:VCARD")
    return "".join(fold(line) + "\r\n" for line in lines)


def vcard_filename(contact: PressContact) -> str:
    """Name the download after the contact, in plain ASCII: "martin-besnier.vcf"."""
    ascii_name = unicodedata.normalize("NFKD", contact.name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return f"{slug or 'contact'}.vcf"
