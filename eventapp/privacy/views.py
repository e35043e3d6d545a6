"""The privacy page and the accessibility statement, both written from the configuration."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, render_template
from flask_babel import format_date, ngettext
from flask_babel import lazy_gettext as _l

from eventapp.site.services import current_organisation

bp = Blueprint("privacy", __name__)

ACCESSIBILITY_LABELS = {
    "full": _l("totalement conforme"),
    "partial": _l("partiellement conforme"),
    "none": _l("non conforme"),
}


@bp.app_template_global("accessibility_status")
def accessibility_status() -> str:
    """Return the RGAA conformity status, as the footer and the statement write it."""
    status = current_app.config["ACCESSIBILITY_STATUS"]
    return str(ACCESSIBILITY_LABELS.get(status, ACCESSIBILITY_LABELS["none"]))


@bp.app_template_global("format_period")
def format_period(days: int) -> str:
    """Write a retention period the way people say it: "3 ans", "1 an", "90 jours"."""
    if days >= 365 and days % 365 == 0:
        return ngettext("%(num)d an", "%(num)d ans", days // 365)
    return ngettext("%(num)d jour", "%(num)d jours", days)


def _written_date(iso: str) -> str:
    """Write an ISO date from the configuration in full; empty when there is none."""
    return format_date(date.fromisoformat(iso), "long") if iso else ""


@bp.get("/confidentialite")
def notice():
    """Say who processes which personal data, why, on what basis, how long, and the rights."""
    config = current_app.config
    organisation = current_organisation()
    contact = config["PRIVACY_CONTACT"] or organisation.email
    return render_template(
        "privacy/notice.html",
        controller=config["PRIVACY_CONTROLLER"] or organisation.name,
        controller_address=organisation.address,
        contact=contact,
        dpo_name=config["PRIVACY_DPO_NAME"],
        dpo_email=config["PRIVACY_DPO_EMAIL"] or (contact if config["PRIVACY_DPO_NAME"] else ""),
        dpo_address=config["PRIVACY_DPO_ADDRESS"],
        recipients=config["PRIVACY_RECIPIENTS"],
        authority=config["PRIVACY_AUTHORITY"],
        updated=_written_date(config["PRIVACY_UPDATED"]),
        registration_period=format_period(config["REGISTRATION_RETENTION_DAYS"]),
        press_period=format_period(config["PRESS_INQUIRY_RETENTION_DAYS"]),
        mail_period=format_period(config["MAIL_BODY_RETENTION_DAYS"]),
        audit_period=format_period(config["AUDIT_LOG_RETENTION_DAYS"]),
        confirm_hours=config["KIT_CONFIRM_VALID_HOURS"],
    )


@bp.get("/accessibilite")
def accessibility():
    """The RGAA accessibility statement: status, what was checked, how to report, recourse."""
    config = current_app.config
    organisation = current_organisation()
    return render_template(
        "privacy/accessibility.html",
        status=accessibility_status(),
        audited=config["ACCESSIBILITY_AUDIT_RATE"] is not None,
        audit_rate=config["ACCESSIBILITY_AUDIT_RATE"],
        evaluated=_written_date(config["ACCESSIBILITY_EVALUATED"]),
        contact=config["ACCESSIBILITY_CONTACT"] or organisation.email,
        site_url=config["SITE_URL"],
    )
