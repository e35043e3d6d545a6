"""eventapp: event and webinar launches end to end."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from eventapp import config as default_config
from eventapp.extensions import babel, csrf, db, limiter, login_manager, migrate
from eventapp.site.outage import watch_database
from eventapp.site.pagecache import serve_cached_pages

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(
    test_config: dict[str, Any] | None = None, instance_path: str | None = None
) -> Flask:
    """Build the app: defaults, then instance/config.py and EVENTAPP_* vars, or test_config alone."""
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.from_object(default_config)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("EVENTAPP")
    else:
        # A test app is sealed: nothing of the machine it runs on (an instance file, an
        # EVENTAPP_* variable left in the shell) may reach it.
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    refuse_default_secret(app)
    tune_database_connections(app)
    serve_cached_pages(app)  # inside ProxyFix, which must see each request first
    trust_proxies(app)
    secure_cookies(app)

    # Before the extensions: its last after-request hook then runs after Flask-Limiter's, which
    # would rewrite the 503's Retry-After from its own clock.
    watch_database(app)
    register_extensions(app)
    bound_integer_ids(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def refuse_default_secret(app: Flask) -> None:
    """Stop a production start that still has the published development SECRET_KEY."""
    if app.debug or app.testing:
        return
    if app.config["SECRET_KEY"] in (default_config.DEFAULT_SECRET_KEY, "", None, "change-me"):
        raise RuntimeError(
            "SECRET_KEY is the development default: set it in instance/config.py "
            "or in the EVENTAPP_SECRET_KEY environment variable."
        )


def tune_database_connections(app: Flask) -> None:
    """SQLite waits SQLITE_BUSY_TIMEOUT_SECONDS for a lock; a server's pooled connections are
    checked before use, so that one restarted under a running app costs no request."""
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])  # the default dict is shared
    if str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        connect_args = dict(options.get("connect_args", {}))
        connect_args.setdefault("timeout", float(app.config["SQLITE_BUSY_TIMEOUT_SECONDS"]))
        options["connect_args"] = connect_args
    else:
        options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def secure_cookies(app: Flask) -> None:
    """Send the session cookies over HTTPS only when the site is on HTTPS (or SECURE_COOKIES)."""
    secure = app.config.get("SECURE_COOKIES")
    if secure is None:
        secure = str(app.config["SITE_URL"]).startswith("https://")
    app.config["SESSION_COOKIE_SECURE"] = bool(secure)
    app.config["REMEMBER_COOKIE_SECURE"] = bool(secure)
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True


def trust_proxies(app: Flask) -> None:
    """Read the client's address and scheme from the proxies we were told to trust, no others."""
    hops = int(app.config["TRUSTED_PROXIES"])
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]


class DatabaseId(IntegerConverter):
    """An `<int:...>` in a URL that fits the database's integer columns: a larger one is a 404,
    not an overflow error from the database."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 (werkzeug's name)
        kwargs.setdefault("max", 2**31 - 1)  # INTEGER on PostgreSQL
        super().__init__(map, *args, **kwargs)


def bound_integer_ids(app: Flask) -> None:
    """Make every `<int:...>` of every route a DatabaseId (set before any rule is added)."""
    app.url_map.converters["int"] = DatabaseId


def register_extensions(app: Flask) -> None:
    """Bind the extensions to this app."""
    from eventapp.i18n import select_locale
    from eventapp.outbox.relay import mail
    from eventapp.outbox.render import init_outbox
    from eventapp.site.services import current_organisation

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    mail.init_app(app)
    init_outbox(app, organisation=current_organisation)
    import_models()
    watch_public_content()


def import_models() -> None:
    """Import every model module so that the metadata is whole (migrations, create_all)."""
    import eventapp.aftermath.models  # noqa: F401
    import eventapp.attestations.models  # noqa: F401
    import eventapp.audit.models  # noqa: F401
    import eventapp.auth.models  # noqa: F401
    import eventapp.events.models  # noqa: F401
    import eventapp.kits.models  # noqa: F401
    import eventapp.outbox.models  # noqa: F401
    import eventapp.press.models  # noqa: F401
    import eventapp.registrations.models  # noqa: F401
    import eventapp.rooms.models  # noqa: F401
    import eventapp.site.models  # noqa: F401
    import eventapp.speakers.models  # noqa: F401
    import eventapp.surveys.models  # noqa: F401


def watch_public_content() -> None:
    """Name the models whose changes must refresh the cached public pages."""
    from eventapp.aftermath.models import EventMaterial
    from eventapp.events.models import Event
    from eventapp.kits.models import Kit
    from eventapp.site.models import Organisation
    from eventapp.site.pagecache import watch
    from eventapp.speakers.models import EventSpeaker, Speaker

    # The event page links to its published kits: a kit's title, visibility or events (a change of
    # Kit.events marks the kit dirty) must refresh it.
    watch(Event, Speaker, EventSpeaker, Organisation, Kit, EventMaterial)


def register_blueprints(app: Flask) -> None:
    """Mount each domain's pages."""
    from eventapp.admin.views import bp as admin_bp
    from eventapp.aftermath.views import bp as aftermath_bp
    from eventapp.attestations.views import bp as attestations_bp
    from eventapp.auth.views import bp as auth_bp
    from eventapp.events.views import bp as events_bp
    from eventapp.ics.views import bp as ics_bp
    from eventapp.kits.views import bp as kits_bp
    from eventapp.press.views import bp as press_bp
    from eventapp.privacy.views import bp as privacy_bp
    from eventapp.registrations.views import bp as registrations_bp
    from eventapp.rooms.views import bp as rooms_bp
    from eventapp.site.logredact import redact_access_logs
    from eventapp.site.security import init_security
    from eventapp.site.views import bp as site_bp
    from eventapp.site.views import register_errorhandlers
    from eventapp.speakers.photos import bp as speaker_photos_bp
    from eventapp.speakers.views import bp as speakers_bp
    from eventapp.surveys.views import bp as surveys_bp

    app.register_blueprint(site_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(aftermath_bp)
    app.register_blueprint(kits_bp)
    # /events/<slug>.ics wins over events.detail whatever the order: werkzeug prefers the rule
    # with the static ".ics" part.
    app.register_blueprint(ics_bp)
    app.register_blueprint(speakers_bp)
    app.register_blueprint(press_bp)
    app.register_blueprint(registrations_bp)
    app.register_blueprint(rooms_bp)
    app.register_blueprint(surveys_bp)
    app.register_blueprint(attestations_bp)
    app.register_blueprint(speaker_photos_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(privacy_bp)
    register_errorhandlers(app)
    init_security(app)
    redact_access_logs()


def register_template_helpers(app: Flask) -> None:
    """Give templates the filters and values every page uses."""
    from flask_babel import get_locale

    from eventapp.i18n import (
        format_clock,
        format_day,
        format_duration,
        format_moment,
        format_span,
        og_locale,
    )
    from eventapp.markup import render_markdown
    from eventapp.site.services import current_organisation

    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.globals["format_span"] = format_span
    app.jinja_env.globals["format_duration"] = format_duration
    app.jinja_env.globals["format_clock"] = format_clock
    app.jinja_env.globals["format_day"] = format_day
    app.jinja_env.globals["format_moment"] = format_moment
    app.jinja_env.globals["og_locale"] = og_locale

    @app.context_processor
    def page_context() -> dict[str, Any]:
        return {
            "organisation": current_organisation(),
            "current_locale": str(get_locale()),
            "languages": app.config["LANGUAGES"],
            "current_path": request.full_path.rstrip("?"),
        }


def register_commands(app: Flask) -> None:
    """Add each domain's commands to the flask CLI."""
    from eventapp.auth.cli import users_group
    from eventapp.demo import demo_command
    from eventapp.kits.cli import kits_group
    from eventapp.outbox.cli import mail_sink_command, outbox_group, worker_command
    from eventapp.site.cli import dev_command

    app.cli.add_command(demo_command)
    app.cli.add_command(users_group)
    app.cli.add_command(kits_group)
    app.cli.add_command(dev_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(outbox_group)
    app.cli.add_command(mail_sink_command)
