"""eventapp: event and webinar launches end to end."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, request

from eventapp import config as default_config
from eventapp.extensions import babel, csrf, db, limiter, migrate

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the app: defaults, then instance/config.py (or test_config), then EVENTAPP_* vars."""
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
    if test_config is not None:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    refuse_default_secret(app)

    register_extensions(app)
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


def register_extensions(app: Flask) -> None:
    """Bind the extensions to this app."""
    from eventapp.i18n import select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    import_models()


def import_models() -> None:
    """Import every model module so that the metadata is whole (migrations, create_all)."""
    import eventapp.events.models  # noqa: F401
    import eventapp.site.models  # noqa: F401
    import eventapp.speakers.models  # noqa: F401


def register_blueprints(app: Flask) -> None:
    """Mount each domain's pages."""
    from eventapp.events.views import bp as events_bp
    from eventapp.site.views import bp as site_bp
    from eventapp.site.views import register_errorhandlers
    from eventapp.speakers.views import bp as speakers_bp

    app.register_blueprint(site_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(speakers_bp)
    register_errorhandlers(app)


def register_template_helpers(app: Flask) -> None:
    """Give templates the filters and values every page uses."""
    from flask_babel import get_locale

    from eventapp.i18n import format_duration, format_span
    from eventapp.markup import render_markdown
    from eventapp.site.services import current_organisation

    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.globals["format_span"] = format_span
    app.jinja_env.globals["format_duration"] = format_duration

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
    from eventapp.demo import demo_command
    from eventapp.site.cli import dev_command

    app.cli.add_command(demo_command)
    app.cli.add_command(dev_command)
