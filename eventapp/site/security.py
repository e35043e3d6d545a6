"""Security headers on every response: CSP, nosniff, referrer, permissions; HSTS in production."""

from __future__ import annotations

from flask import Flask, Response, current_app, g

# No inline script and no inline style anywhere: every script and style sheet is a static file.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "object-src": "'none'",
}
# A mail shown in the back office sits in a sandboxed srcdoc frame, which inherits the page's
# policy; mail clients drop style sheets, so mails carry style attributes, and only those.
MAIL_PREVIEW_ALLOWANCES = {"style-src-attr": "'unsafe-inline'"}

# No page needs a device or sensor: none may be asked for, by us or by anything we embed.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


def allow_mail_preview() -> str:
    """Let this page show a rendered mail (called by the template that embeds one)."""
    g.csp_mail_preview = True
    return ""


def content_security_policy(mail_preview: bool = False) -> str:
    """Return the Content-Security-Policy value, widened for a page that shows a mail."""
    directives = dict(CONTENT_SECURITY_POLICY)
    if mail_preview:
        directives.update(MAIL_PREVIEW_ALLOWANCES)
    return "; ".join(f"{name} {value}" for name, value in directives.items())


# Written once: every response carries one of the two.
POLICY, MAIL_PREVIEW_POLICY = content_security_policy(False), content_security_policy(True)


def hsts_enabled(app: Flask) -> bool:
    """Tell whether to send HSTS: HSTS_ENABLED if set, else https outside debug and tests."""
    forced = app.config.get("HSTS_ENABLED")
    if forced is not None:
        return bool(forced)
    https = str(app.config["SITE_URL"]).startswith("https://")
    return https and not app.debug and not app.testing


def add_security_headers(response: Response) -> Response:
    """Add the security headers; a view's own stricter value (no-referrer on secret links) stays."""
    headers = response.headers
    headers["Content-Security-Policy"] = (
        MAIL_PREVIEW_POLICY if g.get("csp_mail_preview", False) else POLICY
    )
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"  # frame-ancestors for browsers that predate CSP 2
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    if hsts_enabled(current_app):
        max_age = int(current_app.config["HSTS_MAX_AGE_SECONDS"])
        headers["Strict-Transport-Security"] = f"max-age={max_age}; includeSubDomains"
    return response


def init_security(app: Flask) -> None:
    """Send the security headers with every response of this app."""
    app.after_request(add_security_headers)
    app.jinja_env.globals["allow_mail_preview"] = allow_mail_preview
