"""A small, valid one-page PDF written in code, for the demo's sheets and for tests."""

from __future__ import annotations

from collections.abc import Sequence


def _pdf_string(text: str) -> bytes:
    """Encode a line for a PDF string in WinAnsi (Latin-1 plus œ, €, dashes...)."""
    data = text.encode("cp1252", errors="replace")
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _pdf_text_string(text: str) -> bytes:
    """Encode a document string (the title in /Info) as UTF-16 with its byte order mark."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def placeholder_pdf(lines: Sequence[str], *, title: str = "") -> bytes:
    """Return an A4 page showing `lines` in Helvetica, the first one larger: a complete PDF
    (header, objects, cross-reference table with exact offsets, trailer, %%EOF)."""
    content = [b"BT", b"/F1 20 Tf", b"56 770 Td", b"24 TL"]
    for index, line in enumerate(lines):
        if index == 1:
            content.append(b"/F1 12 Tf")
            content.append(b"18 TL")
        content.append(_pdf_string(line) + b" Tj T*")
    content.append(b"ET")
    stream = b"\n".join(content)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Title "
        + _pdf_text_string(title or (lines[0] if lines else ""))
        + b" /Producer (eventapp) >>",
    ]
    # The binary comment tells transfer tools to keep the file 8-bit.
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref_at = len(out)
    out += f"xref\n0 {len(objects) + 1}\n".encode()
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref_at}\n%%EOF\n"
    ).encode()
    return bytes(out)
