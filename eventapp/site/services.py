"""Look-ups every page needs."""

from urllib.parse import urlsplit

from flask import current_app, g
from sqlalchemy import select

from eventapp.extensions import db
from eventapp.site.models import Organisation


def current_organisation() -> Organisation:
    """Return the organisation, or one built from config when the table is empty.

    It is a copy attached to no session, read once per request: pages, mails and invites only
    read it, and a copy costs a plain row instead of an ORM load on every page.
    """
    if "organisation" not in g:
        row = db.session.execute(_FIRST_ORGANISATION).first()
        values = row._asdict() if row else current_app.config["ORGANISATION"]
        current_app.extensions[_LAST_KNOWN] = values
        g.organisation = Organisation(**values)
    return g.organisation


def last_known_organisation() -> Organisation:
    """Return the organisation as last read by this process, for a page drawn without the
    database (an outage); the configured one if it was never read."""
    values = current_app.extensions.get(_LAST_KNOWN) or current_app.config["ORGANISATION"]
    return Organisation(**values)


_LAST_KNOWN = "eventapp.last_known_organisation"


_FIRST_ORGANISATION = select(Organisation.__table__).order_by(Organisation.__table__.c.id).limit(1)


def is_safe_next(target: str | None) -> bool:
    """Accept only a path on this site as a place to go back to."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    return "\\" not in target and not any(ord(c) < 32 for c in target)


def absolute_url(endpoint: str, **values) -> str:
    """Build a full URL on SITE_URL, inside a request or not (mails, jobs, invites)."""
    site = urlsplit(current_app.config["SITE_URL"])
    adapter = current_app.url_map.bind(
        site.netloc, script_name=site.path or "/", url_scheme=site.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
