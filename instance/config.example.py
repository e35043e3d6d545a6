"""Copy to instance/config.py and adapt: this file holds the secrets of one installation."""

# Generate one with: python -c "import secrets; print(secrets.token_hex(32))"
SECRET_KEY = "change-me"

# SQLite in the instance folder by default; PostgreSQL in production:
# SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://eventapp:password@db.internal/eventapp"

# The public address of the site, used in mails, invites and feeds.
# SITE_URL = "https://evenements.example.org"
