"""The organisation that runs the site."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from eventapp.extensions import db


class Organisation(db.Model):
    """The single organisation shown in the footer, mails and invites; config is the fallback."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(50), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    social_handle: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(200), default="")


class ContentVersion(db.Model):
    """One counter, raised by every change to what public pages show (see site/pagecache.py)."""

    __tablename__ = "content_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(default=0)
