"""Look-ups every page needs."""

from urllib.parse import urlsplit

from flask import current_app, g
from sqlalchemy import select

from eventapp.extensions import db
from eventapp.site.models import Organisation


def current_organisation() -> Organisation:
    """Return the organisation row, or one built from config when the table is empty."""
    if "organisation" not in g:
        row = db.session.scalars(select(Organisation).order_by(Organisation.id).limit(1)).first()
        g.organisation = row or Organisation(**current_app.config["ORGANISATION"])
    return g.organisation


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
