"""The materials of an event (slides, documents), each with its accessible alternative."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.text import slugify


class EventMaterial(db.Model):
    """One file shown with an ended event; when it is not accessible, an alternative that is."""

    __tablename__ = "event_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200))
    # Stored under names we generated; the extension says the kind (".pdf", ".pptx"…).
    file_name: Mapped[str] = mapped_column(String(80))
    file_size: Mapped[int]
    # The organiser vouches that the main file is accessible (a tagged PDF, a structured
    # document); otherwise the alternative is required.
    accessible: Mapped[bool] = mapped_column(default=False)
    alternative_file_name: Mapped[str | None] = mapped_column(String(80))
    alternative_file_size: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    event: Mapped[Event] = relationship()

    def __repr__(self) -> str:
        return f"<EventMaterial {self.id} {self.title!r}>"

    @property
    def download_name(self) -> str:
        """Return the file name offered for download: "diaporama-du-lancement.pdf"."""
        return (slugify(self.title) or "document") + extension_of(self.file_name)

    @property
    def alternative_download_name(self) -> str:
        name = self.alternative_file_name or ""
        return (slugify(self.title) or "document") + "-accessible" + extension_of(name)


def extension_of(stored_name: str) -> str:
    """Return the extension of a stored name, dot included ("" when there is none)."""
    dot = stored_name.rfind(".")
    return stored_name[dot:] if dot > 0 else ""
