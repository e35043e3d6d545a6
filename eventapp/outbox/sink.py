"""A local SMTP server for development that keeps every mail as a .eml file."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from eventapp import config as default_config


def uses_local_sink(config: Mapping[str, Any]) -> bool:
    """Tell whether mail goes to the development sink: no relay was configured."""
    return (
        config.get("MAIL_SERVER") == default_config.MAIL_SERVER
        and config.get("MAIL_PORT") == default_config.MAIL_PORT
        and not config.get("MAIL_USERNAME")
    )


class EmlFolderHandler:
    """aiosmtpd handler: write each message to `folder` as <time>-<id>.eml and announce it."""

    def __init__(self, folder: Path, echo: Callable[[str], None] = print) -> None:
        self.folder = folder
        self.echo = echo
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(content)
        os.replace(partial, path)  # a reader never sees half a mail
        headers = BytesHeaderParser(policy=default_policy).parsebytes(content)
        recipients = ", ".join(envelope.rcpt_tos)
        self.echo(f"mail-sink: {recipients} « {headers.get('Subject', '')} » → {path}")
        return "250 Message accepted for delivery"
