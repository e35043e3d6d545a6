"""Non-secret defaults; instance/config.py and EVENTAPP_* variables override them."""

# The one value production refuses to run with (see create_app).
DEFAULT_SECRET_KEY = "dev-only-not-secret"

SECRET_KEY = DEFAULT_SECRET_KEY
SQLALCHEMY_DATABASE_URI = "sqlite:///eventapp.sqlite3"  # relative to the instance folder
SQLALCHEMY_ENGINE_OPTIONS: dict = {}

# Public address of the site, used in mails, invites and feeds (no trailing slash).
SITE_URL = "http://127.0.0.1:5000"

BABEL_DEFAULT_LOCALE = "fr"
BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
LANGUAGES = ["fr", "en"]
LANGUAGE_COOKIE = "lang"

WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session: long forms do not expire

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# The organisation that runs the site, shown in the footer, mails and invites.
ORGANISATION = {
    "name": "eventapp",
    "short_name": "eventapp",
    "address": "",
    "website": "",
    "social_handle": "",
    "email": "",
}

# Rate limits of public forms. memory:// is per process: with several processes or hosts, use a
# shared store such as "redis://redis.internal:6379/0".
RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_HEADERS_ENABLED = True
