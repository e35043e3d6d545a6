"""The BigBlueButton client's main path against a real server (BBB_URL, BBB_SECRET; BBB_CHECKSUM)."""

from __future__ import annotations

import os
import secrets
import urllib.error
import urllib.parse
import urllib.request

import pytest

from eventapp.rooms.bbb import BbbClient, BbbServer

pytestmark = [
    pytest.mark.bbb,
    pytest.mark.skipif(
        not (os.environ.get("BBB_URL") and os.environ.get("BBB_SECRET")),
        reason="BBB_URL and BBB_SECRET name no real BigBlueButton server",
    ),
]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hand a redirect back instead of following it: the HTML5 client needs a browser."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        """Follow nothing."""
        return None


@pytest.fixture
def client() -> BbbClient:
    server = BbbServer(
        "real",
        os.environ["BBB_URL"],
        os.environ["BBB_SECRET"],
        os.environ.get("BBB_CHECKSUM", "sha256"),
    )
    return BbbClient(server)


def test_create_join_read_and_end_a_real_meeting(client):
    meeting_id = f"eventapp-test-{secrets.token_hex(6)}"
    try:
        meeting = client.create(meeting_id, "eventapp test room", welcome="Test")
        assert meeting.meeting_id == meeting_id and not meeting.duplicate
        assert client.create(meeting_id, "eventapp test room", welcome="Test").duplicate

        url = client.join_url(meeting_id, "eventapp tester", "tester-1", role="MODERATOR")
        opener = urllib.request.build_opener(_NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirected:
            opener.open(url, timeout=10)
        redirected.value.close()
        # A signed link is accepted with a redirect to the client; a refused one answers XML.
        assert redirected.value.code in (301, 302, 303, 307)
        assert "sessionToken" in urllib.parse.urlsplit(redirected.value.headers["Location"]).query

        info = client.meeting_info(meeting_id)
        assert info is not None and info.meeting_id == meeting_id
        # Nobody opened the client page, so nobody is in yet.
        assert not client.is_meeting_running(meeting_id)
        assert info.participant_count == 0
    finally:
        assert client.end(meeting_id)
    assert not client.is_meeting_running(meeting_id)
