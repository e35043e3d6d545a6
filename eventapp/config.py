"""Non-secret defaults; instance/config.py and EVENTAPP_* variables override them."""

# The one value production refuses to run with (see create_app).
DEFAULT_SECRET_KEY = "dev-only-not-secret"

SECRET_KEY = DEFAULT_SECRET_KEY
SQLALCHEMY_DATABASE_URI = "sqlite:///eventapp.sqlite3"  # relative to the instance folder
SQLALCHEMY_ENGINE_OPTIONS: dict = {}
# SQLite: how long a write waits for another connection's write lock (the worker's commit of a
# large fan-out takes seconds) before the visitor gets the 503 page. PostgreSQL: pooled
# connections are checked before use (pool_pre_ping), so a restarted server needs no restart here.
SQLITE_BUSY_TIMEOUT_SECONDS = 15.0
# The Retry-After of the 503 page shown while the database is unreachable or locked.
DATABASE_RETRY_AFTER_SECONDS = 60

# Public address of the site, used in mails, invites and feeds (no trailing slash).
SITE_URL = "http://127.0.0.1:5000"

BABEL_DEFAULT_LOCALE = "fr"
BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
LANGUAGES = ["fr", "en"]
LANGUAGE_COOKIE = "lang"

WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session: long forms do not expire

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_SAMESITE = "Lax"  # Flask-Login's "remember me" cookie, should a form set it
# Cookies sent over HTTPS only (session, sign-in, language): None decides from SITE_URL (https:
# yes), so production behind TLS gets them and a local http:// run still works; True or False
# forces it. create_app sets SESSION_COOKIE_SECURE and REMEMBER_COOKIE_SECURE from it.
SECURE_COOKIES = None

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
# Redis unreachable: count per process meanwhile (and log it) rather than answer 500; Flask-Limiter
# goes back to the shared store once it answers again.
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
RATELIMIT_HEADERS_ENABLED = True
# Set here, not left to Flask-Limiter: its one Limiter object would hand a value seen in one app
# of the process to the next app as its default.
RATELIMIT_ENABLED = True

# Mail (Flask-Mail). The default is the development sink that `flask dev` starts
# (`flask mail-sink`, .eml files in instance/mail/); point these at a real relay in production.
MAIL_SERVER = "127.0.0.1"
MAIL_PORT = 8025
MAIL_USE_TLS = False
MAIL_USE_SSL = False
MAIL_USERNAME = None
MAIL_PASSWORD = None  # instance/config.py or EVENTAPP_MAIL_PASSWORD
MAIL_DEFAULT_SENDER = "no-reply@example.org"  # From; named after the organisation
MAIL_REPLY_TO = ""  # Reply-To when a mail sets none; empty: the organisation's address
MAIL_SINK_FOLDER = "mail"  # where `flask mail-sink` keeps .eml files; relative to instance/

# Outbox and worker (`flask worker`)
OUTBOX_BATCH_SIZE = 100  # rows claimed at a time
OUTBOX_LEASE_SECONDS = 300  # a claimed row goes back to the queue if its worker vanished this long
OUTBOX_POLL_SECONDS = 2.0  # the worker's pause when nothing is due
# Run every scheduled job at least this often (None: each at its own pace, reminders and sheet
# releases every minute). A few seconds in the scale-out test, which would otherwise wait a minute.
JOBS_MAX_INTERVAL_SECONDS = None
OUTBOX_MAX_ATTEMPTS = 8  # then the mail is marked failed
OUTBOX_BACKOFF_BASE_SECONDS = 60  # first retry after this, then doubled each time
OUTBOX_BACKOFF_MAX_SECONDS = 6 * 3600
OUTBOX_SMTP_TIMEOUT_SECONDS = 30
# The worker writes a heartbeat this often; the back office warns, and /healthz?worker=1 answers
# 503, after WORKER_SILENCE_MINUTES without one.
WORKER_HEARTBEAT_SECONDS = 30
WORKER_SILENCE_MINUTES = 5
# While the relay refuses, the worker logs it once, then every RELAY_OUTAGE_LOG_MINUTES.
RELAY_OUTAGE_LOG_MINUTES = 5

# Registration
REGISTRATION_CATEGORIES = ["elu", "agent", "ess", "journaliste", "autre"]
REGISTRATION_RATE_LIMIT = "10 per minute;100 per day"
JOIN_OPENS_MINUTES_BEFORE = 30  # the connection link redirects from this long before the start
# Re-posting the form with an address already registered mails its links again: at most once
# this often per registration, so the form cannot flood someone's mailbox nor pile up secrets.
REGISTRATION_LINKS_RESEND_MINUTES = 15
# A join secret sits in calendars, shared and synced: it stops opening anything this long after
# the event's end (the attendee space's own secret lives on, for the person's data rights).
JOIN_LINK_VALID_DAYS_AFTER_END = 30
# A fetch of the connection link this soon after a mail carrying it was sent is a mail scanner's
# (Safe Links and the like), not a person's click: it is not counted (rooms/presence.py).
JOIN_SCANNER_WINDOW_SECONDS = 30

# BigBlueButton rooms that eventapp opens itself. Each server by name, its secret here or in
# the environment, never in the database:
# BBB_SERVERS = {"principal": {"url": "https://bbb.example.org/bigbluebutton/",
#                              "secret": "…", "checksum": "sha256"}}
BBB_SERVERS: dict = {}
BBB_TIMEOUT_SECONDS = 5.0  # each API call; then retried, then the room "is not ready yet"
BBB_CREATE_MINUTES_BEFORE = 60  # the worker creates the meeting this long before the start
BBB_WELCOME = ""  # the meeting's welcome text; empty: the server's own

# Attestations of presence: the PDF's font, a Unicode TrueType file (its bold variant beside it,
# "-Bold"); Debian's fonts-dejavu-core by default.
ATTESTATION_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
# Live secrets of each kind (attendee space, connection link) per registration; minting one
# more revokes the oldest. Each mail with links mints a pair: confirmation, reminders, updates.
REGISTRATION_LIVE_LINKS_MAX = 10

# Data protection notice shown under every form that collects personal data.
PRIVACY_CONTROLLER = ""  # defaults to the organisation's name
PRIVACY_CONTACT = ""  # the address for data requests; defaults to the organisation's
REGISTRATION_RETENTION_DAYS = 3 * 365  # after the event, then anonymised
# Retention of the rest, enforced daily by the worker's "data-retention" job (eventapp/privacy).
PRESS_INQUIRY_RETENTION_DAYS = 365  # after the inquiry, then the journalist's details are blanked
MAIL_BODY_RETENTION_DAYS = 90  # after sending: bodies, invite, files and the address are blanked
AUDIT_LOG_RETENTION_DAYS = 365  # back-office audit entries (they name registrants), then deleted
# The privacy page (/confidentialite). The data protection officer (DPO), if one was appointed;
# an empty email falls back to PRIVACY_CONTACT.
PRIVACY_DPO_NAME = ""
PRIVACY_DPO_EMAIL = ""
PRIVACY_DPO_ADDRESS = ""
# Who else receives the data besides the organiser's staff: hosting, mail relay (processors).
PRIVACY_RECIPIENTS: list[str] = []
PRIVACY_UPDATED = ""  # the date the notice was last reviewed, ISO "2025-01-31"; empty: not shown
# The supervisory authority a person may complain to (GDPR art. 77).
PRIVACY_AUTHORITY = {
    "name": "Commission nationale de l'informatique et des libertés (CNIL)",
    "address": "3 place de Fontenoy, TSA 80715, 75334 Paris Cedex 07",
    "url": "https://www.cnil.fr/fr/plaintes",
}
# The accessibility statement (/accessibilite, RGAA 4.1). The RGAA allows "partiellement" or
# "totalement conforme" only on the strength of an audit: "none" (non conforme) until one is done,
# then "partial" or "full" with ACCESSIBILITY_AUDIT_RATE; the date is that of the last evaluation.
ACCESSIBILITY_STATUS = "none"
ACCESSIBILITY_AUDIT_RATE = None  # the share of RGAA criteria met (0-100) once audited
ACCESSIBILITY_EVALUATED = "2026-11-21"  # ISO date of the last evaluation (the statement's date)
ACCESSIBILITY_CONTACT = ""  # where to report a barrier; defaults to the organisation's address

# Security headers (eventapp/site/security.py). HSTS: None sends it when SITE_URL is https and
# the app is neither in debug nor testing; True or False force it.
HSTS_ENABLED = None
HSTS_MAX_AGE_SECONDS = 365 * 24 * 3600

# Press room
PRESS_INQUIRY_RATE_LIMIT = "5 per minute;30 per day"  # inquiry form posts, per client address
PRESS_INQUIRY_MAX_MESSAGE_CHARS = 5000
PRESS_UPLOAD_FOLDER = "uploads/press"  # release files; relative to the instance folder
PRESS_MAX_ATTACHMENT_BYTES = 20_000_000  # a press kit PDF
PRESS_MAX_IMAGE_BYTES = 5_000_000
PRESS_PHONE_REGION = "FR"  # how a phone number without a country code is read (tel: links)

# Request bodies, every form included; above the largest file a form takes (a 20 MB PDF), so
# that the file's own check speaks first. Larger requests get the 413 page.
MAX_CONTENT_LENGTH = 32 * 1024 * 1024

# After an event: materials and the transcript of its replay
EVENT_UPLOAD_FOLDER = "uploads/events"  # relative to the instance folder
EVENT_MAX_MATERIAL_BYTES = 15_000_000  # a file and its alternative fit in one request body
# The post-event mail goes by the follow-up fan-out's batches (KIT_RELEASE_BATCH_SIZE).

# Kits of sheets
KIT_UPLOAD_FOLDER = "uploads/sheets"  # sheet PDFs; relative to the instance folder
KIT_MAX_PDF_BYTES = 20_000_000
KIT_SUBSCRIBE_RATE_LIMIT = "5 per minute;50 per day"  # kit subscription posts, per client address
# One-click unsubscribe: mail providers post it from a few shared addresses, so a generous limit.
UNSUBSCRIBE_RATE_LIMIT = "300 per minute"
# The buttons behind a secret link (attendee space, subscription confirmation), per client address.
PERSONAL_LINK_RATE_LIMIT = "30 per minute;300 per day"
KIT_CONFIRM_VALID_HOURS = 72  # the double opt-in link; unconfirmed addresses are deleted after it
KIT_CONFIRM_RESEND_MINUTES = 10  # at most one confirmation mail per address and kit this often
KIT_FOLLOWUP_GRACE_HOURS = 7 * 24  # a sheet due longer ago than this is not announced by mail
KIT_RELEASE_BATCH_SIZE = 2000  # subscribers read, and mails inserted, per batch

# Back office (/admin). Sign-in attempts that fail count against two hard limits: per client
# address, and per account typed from that address. Store: RATELIMIT_STORAGE_URI.
LOGIN_RATE_LIMIT_PER_IP = "20 per 15 minutes;100 per day"
LOGIN_RATE_LIMIT_PER_ACCOUNT = "10 per 15 minutes"
# Per account from any address, failures only slow sign-in down (a pause that doubles after each
# one, up to a cap): a hard limit there would let anyone lock an organiser out.
LOGIN_SLOWDOWN_AFTER = 10  # failed sign-ins of one account within the window before pausing
LOGIN_SLOWDOWN_WINDOW_MINUTES = 15
LOGIN_SLOWDOWN_MAX_SECONDS = 8.0
# A back-office session ends when signed out (on the server: a copied cookie opens nothing),
# after this long whatever happens, and after this long unused.
ADMIN_SESSION_MAX_HOURS = 12
ADMIN_SESSION_IDLE_MINUTES = 60
# Wrong current passwords on /admin/password, per signed-in account.
PASSWORD_CHECK_RATE_LIMIT = "5 per 15 minutes"
# argon2id cost of the organisers' password hashes (RFC 9106 "low memory" profile); a hash made
# with other values is upgraded at the next sign-in.
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_PARALLELISM = 4
# Speaker photos, re-encoded to WebP; the folder is relative to the instance folder.
SPEAKER_PHOTO_FOLDER = "uploads/speakers"
SPEAKER_PHOTO_MAX_BYTES = 10_000_000  # the upload, before it is shrunk
SPEAKER_PHOTO_SIZE = 600  # the longest side of the stored photo, in pixels
# Attendance reports uploaded for an external room's event, kept only between the preview and
# the organiser's confirmation; the worker deletes those left unconfirmed after a day.
REPORT_UPLOAD_FOLDER = "uploads/reports"  # relative to the instance folder
# The largest picture (speaker photo, press image) read, in pixels, checked before decoding: a
# small PNG can declare a canvas that takes gigabytes to decode.
UPLOAD_MAX_IMAGE_PIXELS = 25_000_000

# How many reverse proxies (load balancer, nginx) stand in front of gunicorn and set the
# X-Forwarded-For/-Proto/-Host headers. 0 trusts none: the client address is the socket's.
# Behind one balancer set 1, or rate limits would count every visitor as the balancer.
TRUSTED_PROXIES = 0
