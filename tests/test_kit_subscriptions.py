"""Subscribing to a kit alone: double opt-in, then follow-ups from the confirmation on only."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventapp.extensions import db
from eventapp.kits import subscriptions
from eventapp.kits.followups import release_due_sheets
from eventapp.kits.models import KitSubscriber, SubscriptionStatus
from eventapp.models import now_utc
from eventapp.tokens import new_token
from tests.helpers import csrf_token, text
from tests.kit_helpers import RELEASE, followups, make_kit, make_sheet

CONFIRM = re.compile(r"https://events\.test/subscribe/confirm/([A-Za-z0-9_-]{43})")


def subscribe(client, kit, email="lecteur@example.org", **fields):
    url = f"/kits/{kit.slug}"
    data = {"csrf_token": csrf_token(client, url), "email": email, **fields}
    return client.post(f"/kits/{kit.slug}/subscribe", data=data)


def subscribers() -> list[KitSubscriber]:
    return list(db.session.scalars(select(KitSubscriber).order_by(KitSubscriber.id)))


def test_double_opt_in_over_smtp_then_follow_ups_from_the_confirmation_on(
    app, client, runner, smtp_server
):
    now = now_utc().replace(microsecond=0)
    kit = make_kit(title="Kit RégionalESS")
    make_sheet(kit, 1, now - timedelta(days=7))
    make_sheet(kit, 2, now + timedelta(days=7))

    response = subscribe(client, kit, "Lecteur@example.org")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/kits/{kit.slug}/subscribe/done"
    assert "Vérifiez votre boîte mail" in text(client.get(response.headers["Location"]))
    (pending,) = subscribers()
    assert pending.status == SubscriptionStatus.PENDING and pending.confirmed_at is None

    assert runner.invoke(args=["outbox", "send"]).exit_code == 0
    assert smtp_server.wait_for(1)
    (mail,) = smtp_server.messages
    assert mail["Subject"] == "Confirmez votre abonnement : Kit RégionalESS"
    assert mail["To"].addresses[0].addr_spec == "Lecteur@example.org"
    link = CONFIRM.search(mail.get_body(("plain",)).get_content())
    assert link and link.group(0) in mail.get_body(("html",)).get_content()
    # Nothing is sent before the click (sheet n°1 is out already); the secret is kept hashed.
    assert release_due_sheets(now) == 0
    db.session.commit()
    assert pending.confirm_token_hash != link.group(1)

    page = client.get(f"/subscribe/confirm/{link.group(1)}")
    assert page.status_code == 200 and "Je confirme mon abonnement" in text(page)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    db.session.expire_all()
    assert pending.status == SubscriptionStatus.PENDING  # a link scanner's GET confirms nothing
    token = csrf_token(client, f"/subscribe/confirm/{link.group(1)}")
    done = client.post(f"/subscribe/confirm/{link.group(1)}", data={"csrf_token": token})
    assert done.status_code == 200 and "Abonnement confirmé" in text(done)
    db.session.expire_all()
    assert pending.status == SubscriptionStatus.ACTIVE and pending.confirmed_at is not None
    again = client.get(f"/subscribe/confirm/{link.group(1)}")
    assert "déjà confirmé" in text(again)

    # Sheet n°2 comes out after the confirmation: sent.
    assert release_due_sheets(now + timedelta(days=7, minutes=1)) == 1
    db.session.commit()
    (followup,) = followups()
    assert followup.to_address == "Lecteur@example.org"
    assert followup.dedupe_key == f"sheet:{kit.sheets[1].id}:s{pending.id}"


def test_asking_again_sends_no_flood_and_an_active_address_gets_no_mail(app):
    kit = make_kit()
    assert subscriptions.request_subscription(kit, "a@example.org", "fr", RELEASE)
    soon = RELEASE + timedelta(minutes=5)
    assert not subscriptions.request_subscription(kit, "A@example.org", "fr", soon)
    later = RELEASE + timedelta(minutes=11)
    assert subscriptions.request_subscription(kit, "a@example.org", "en", later)
    db.session.commit()
    (subscriber,) = subscribers()
    assert subscriber.locale == "en"
    assert len(followups("kit_subscription_confirm")) == 2
    subscriptions.confirm_subscription(subscriber, later)
    next_day = later + timedelta(days=1)
    assert not subscriptions.request_subscription(kit, "a@example.org", "fr", next_day)
    db.session.commit()
    assert len(followups("kit_subscription_confirm")) == 2


def test_a_filled_honeypot_or_a_bad_address_subscribes_no_one(app, client):
    kit = make_kit()
    bot = subscribe(client, kit, website="https://spam.example")
    assert bot.status_code == 303
    bad = subscribe(client, kit, "pas-une-adresse")
    assert bad.status_code == 422
    assert "Cette adresse mail n'est pas valide." in text(bad)
    missing = client.post(f"/kits/{kit.slug}/subscribe", data={"email": "a@example.org"})
    assert missing.status_code == 400  # no CSRF token
    assert subscribers() == []
    assert followups("kit_subscription_confirm") == []


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_an_address_with_accents_before_the_at_sign_gets_a_clear_message(app, client, lang):
    kit = make_kit()
    url = f"/kits/{kit.slug}"
    data = {"csrf_token": csrf_token(client, url), "email": "jösé@example.com"}
    response = client.post(url + "/subscribe", data=data, headers={"Accept-Language": lang})
    assert response.status_code == 422
    assert (
        "Cette adresse contient des caractères accentués avant l'arobase"
        if lang == "fr"
        else "This address has accented characters before the @ sign"
    ) in text(response)
    assert subscribers() == []
    assert followups("kit_subscription_confirm") == []


def test_an_international_domain_can_subscribe(app, client):
    kit = make_kit()
    assert subscribe(client, kit, "lecteur@exämple.fr").status_code == 303
    (subscriber,) = subscribers()
    assert subscriber.email == "lecteur@exämple.fr"
    assert len(followups("kit_subscription_confirm")) == 1


def test_an_expired_confirmation_link_is_refused_then_purged(app, client):
    kit = make_kit()
    sent_at = now_utc() - timedelta(hours=app.config["KIT_CONFIRM_VALID_HOURS"] + 1)
    raw, hashed = new_token()
    db.session.add(
        KitSubscriber(
            kit=kit,
            email="late@example.org",
            email_key="late@example.org",
            confirm_token_hash=hashed,
            confirm_sent_at=sent_at,
            created_at=sent_at,
        )
    )
    db.session.commit()
    response = client.get(f"/subscribe/confirm/{raw}")
    assert response.status_code == 404 and "Lien non valide" in text(response)
    assert client.post(f"/subscribe/confirm/{raw}").status_code in (400, 404)
    assert subscriptions.purge_unconfirmed(now_utc()) == 1
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(KitSubscriber)) == 0


def test_the_subscription_form_is_rate_limited(app, client):
    app.config["KIT_SUBSCRIBE_RATE_LIMIT"] = "2 per minute"
    kit = make_kit()
    codes = [subscribe(client, kit, f"p{n}@example.org").status_code for n in range(3)]
    assert codes == [303, 303, 429]
    assert len(subscribers()) == 2
