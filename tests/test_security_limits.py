"""Limits a security review asked for: ids out of range, and other inputs sized to hurt."""

from __future__ import annotations

import pytest

from tests.admin_helpers import login, make_user
from tests.factories import make_event
from tests.kit_helpers import make_kit

HUGE = "99999999999999999999"  # past any integer column, SQLite's 64 bits included
PAST_INTEGER = str(2**31)  # past PostgreSQL's INTEGER


@pytest.mark.parametrize("number", [HUGE, PAST_INTEGER])
def test_an_out_of_range_id_in_a_public_url_is_not_found(app, client, number):
    kit = make_kit(make_event(), published=True)
    assert client.get(f"/kits/{kit.slug}").status_code == 200  # so the sheet is looked up
    assert client.get(f"/press/contacts/{number}.vcf").status_code == 404
    assert client.get(f"/kits/{kit.slug}/sheets/{number}").status_code == 404


@pytest.mark.parametrize("number", [HUGE, PAST_INTEGER])
def test_an_out_of_range_id_in_the_back_office_is_not_found(app, client, number):
    login(client, make_user())
    assert client.get(f"/admin/events/{number}").status_code == 404
    assert client.get(f"/admin/mails/{number}").status_code == 404
