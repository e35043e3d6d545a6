"""Extensions, created unbound and bound to the app in create_app."""

import logging
import sqlite3

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

from eventapp.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
csrf = CSRFProtect()
babel = Babel()
# Limits are declared on the views that take public input; RATELIMIT_STORAGE_URI picks the store.
limiter = Limiter(key_func=get_remote_address)


class _ToAppLog(logging.Handler):
    """Hand a library's log lines to the app's logger, whose output the operator reads."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger("eventapp").handle(record)


# Flask-Limiter says it fell back to per-process limits ("Rate limit storage unreachable")
# on a logger of its own that writes nowhere.
limiter.logger.addHandler(_ToAppLog(logging.WARNING))
# Organiser sessions for /admin; the user loader and the sign-in redirect live in auth/views.py.
login_manager = LoginManager()


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, _record) -> None:
    """Let the web server and the worker share one SQLite file without 'database is locked'."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    # Readers never wait for the writer. A writer waits its turn for SQLITE_BUSY_TIMEOUT_SECONDS
    # (the driver's timeout, set by create_app), then the visitor gets the 503 page.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
