"""Organiser accounts (admins only), and each organiser's own password."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from werkzeug.exceptions import TooManyRequests

from eventapp.audit.services import changed, record, snapshot
from eventapp.auth import services
from eventapp.auth.forms import EditUserForm, NewUserForm, OwnPasswordForm, SetPasswordForm
from eventapp.auth.models import User, UserRole
from eventapp.auth.views import sign_in
from eventapp.extensions import db, limiter

bp = Blueprint("accounts", __name__, url_prefix="/accounts")
own_bp = Blueprint("own", __name__)

USER_FIELDS = ("name", "role", "active")


@bp.before_request
def admins_only():
    """Accounts are managed by admins; an editor gets 403."""
    if not current_user.is_admin:
        abort(403)


@bp.get("/")
def index():
    """List the accounts."""
    return render_template("admin/accounts/index.html", users=services.all_users())


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Open an account with a temporary password, to hand over to its owner."""
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                form.email.data,
                form.password.data,
                name=form.name.data or "",
                role=UserRole(form.role.data),
            )
        except services.EmailTaken:
            db.session.rollback()
            form.email.errors.append(gettext("Un compte existe déjà pour cette adresse."))
        else:
            record("user.create", user, label=user.email, details={"role": user.role})
            db.session.commit()
            flash(gettext("Compte créé pour %(email)s.", email=user.email), "success")
            return redirect(url_for("admin.accounts.index"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/accounts/new.html", form=form), status


@bp.route("/<int:user_id>", methods=["GET", "POST"])
def edit(user_id: int):
    """Change an account's name, role or state; the last active admin cannot be demoted."""
    user = db.get_or_404(User, user_id)
    form = EditUserForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.role.data = user.role.value
    if form.validate_on_submit():
        before = snapshot(user, USER_FIELDS)
        try:
            services.update_user(
                user,
                name=form.name.data or "",
                role=UserRole(form.role.data),
                active=bool(form.active.data),
            )
        except services.LastAdmin:
            db.session.rollback()
            form.role.errors.append(
                gettext(
                    "Il faut au moins un compte administrateur actif : nommez-en un autre d'abord."
                )
            )
        else:
            record(
                "user.update",
                user,
                label=user.email,
                details={"changed": changed(before, snapshot(user, USER_FIELDS))},
            )
            db.session.commit()
            flash(gettext("Compte enregistré."), "success")
            return redirect(url_for("admin.accounts.index"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/accounts/edit.html",
        form=form,
        user=user,
        password_form=SetPasswordForm(user.email, formdata=None),
    ), status


@bp.post("/<int:user_id>/password")
def set_password(user_id: int):
    """Give an account a new password; its open sessions end."""
    user = db.get_or_404(User, user_id)
    form = SetPasswordForm(user.email)
    if not form.validate_on_submit():
        return render_template(
            "admin/accounts/edit.html",
            form=EditUserForm(obj=user, formdata=None),
            user=user,
            password_form=form,
        ), 422
    services.set_password(user, form.password.data)
    record("user.password", user, label=user.email)
    if user.id == current_user.id:
        sign_in(user)  # this session stays open, the others end
    db.session.commit()
    flash(gettext("Nouveau mot de passe enregistré pour %(email)s.", email=user.email), "success")
    return redirect(url_for("admin.accounts.index"), code=303)


def _password_check_limit() -> str:
    return current_app.config["PASSWORD_CHECK_RATE_LIMIT"]


def _own_account() -> str:
    return f"user:{current_user.get_id()}"


def _wrong_current_password(response) -> bool:
    return bool(g.get("wrong_current_password"))


@own_bp.route("/password", methods=["GET", "POST"])
@limiter.limit(
    _password_check_limit,
    methods=["POST"],
    key_func=_own_account,
    scope="password-check",
    deduct_when=_wrong_current_password,
)
def own_password():
    """Change one's own password, the current one first."""
    user = current_user._get_current_object()
    form = OwnPasswordForm(user.email)
    if form.validate_on_submit():
        if not services.check_password(user, form.current_password.data):
            g.wrong_current_password = True  # counts against PASSWORD_CHECK_RATE_LIMIT
            form.current_password.errors.append(gettext("Ce n'est pas votre mot de passe actuel."))
        else:
            services.set_password(user, form.password.data)
            record("user.password", user, label=user.email)
            sign_in(user)  # this session stays open, the others end
            db.session.commit()
            flash(
                gettext("Votre mot de passe est changé ; vos autres sessions sont fermées."),
                "success",
            )
            return redirect(url_for("admin.dashboard"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/accounts/own_password.html", form=form), status


@own_bp.errorhandler(TooManyRequests)
def too_many_password_checks(error: TooManyRequests):
    """Say that the current password cannot be tried again for a while."""
    form = OwnPasswordForm(current_user.email)
    form.current_password.errors = [
        gettext(
            "Trop d'essais du mot de passe actuel. Patientez quelques minutes avant de réessayer."
        )
    ]
    return render_template("admin/accounts/own_password.html", form=form), 429
