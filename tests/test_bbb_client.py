"""The BigBlueButton client against the stand-in server, over real HTTP on loopback."""

from __future__ import annotations

import logging
import threading
import traceback
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from eventapp.rooms.bbb import (
    Attendee,
    BbbClient,
    BbbError,
    BbbServer,
    BbbUnavailable,
    configured_servers,
)
from tests.bbb_standin import BbbStandIn
from tests.pgserver import free_port

SECRET = "s3cr3t-shared-with-the-stand-in-0123456789"


@pytest.fixture
def standin() -> Iterator[BbbStandIn]:
    server = BbbStandIn(SECRET).start()
    yield server
    server.stop()


def client_for(standin: BbbStandIn, **options) -> BbbClient:
    """Return a client of the stand-in that does not wait between attempts."""
    options.setdefault("retry_pause", 0)
    return BbbClient(BbbServer("standin", **standin.config()), **options)


@pytest.fixture
def client(standin: BbbStandIn) -> BbbClient:
    return client_for(standin)


def follow(url: str) -> tuple[int, str]:
    """GET a URL, following redirects like a browser; return the final status and URL."""
    with urllib.request.urlopen(url, timeout=5) as response:
        response.read()
        return response.status, response.url


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


# Creating
def test_create_opens_the_meeting_once_and_a_second_create_is_fine(standin, client):
    first = client.create("event-7", "Annual meeting")
    again = client.create("event-7", "Annual meeting")

    assert (first.meeting_id, first.duplicate) == ("event-7", False)
    assert again.duplicate and again.internal_meeting_id == first.internal_meeting_id
    assert first.create_time is not None and first.create_time.tzinfo is UTC
    assert standin.calls == ["create", "create"] and standin.creates == 1


def test_create_sends_the_documented_parameters(standin, client):
    client.create(
        "event-8",
        "Workshop & co",
        welcome="Bienvenue à tous",
        record=True,
        logout_url="https://events.example.org/e/8",
        meta={"eventappEvent": "8"},
        end_callback_url="https://events.example.org/rooms/8/ended?t=abc",
        moderator_only_message="Moderators only",
    )

    params = standin.meetings["event-8"].params
    assert params["name"] == "Workshop & co" and params["welcome"] == "Bienvenue à tous"
    assert (params["record"], params["autoStartRecording"]) == ("true", "false")
    assert params["allowStartStopRecording"] == "true"
    assert params["logoutURL"] == "https://events.example.org/e/8"
    assert params["meta_eventappEvent"] == "8"
    assert params["meta_endCallbackUrl"] == "https://events.example.org/rooms/8/ended?t=abc"
    assert params["moderatorOnlyMessage"] == "Moderators only"


def test_create_without_recording_forbids_starting_one(standin, client):
    client.create("event-9", "Talk")

    params = standin.meetings["event-9"].params
    assert (params["record"], params["allowStartStopRecording"]) == ("false", "false")
    assert not any(key.startswith("meta_") for key in params)


# Joining
def test_join_url_is_signed_carries_the_person_and_lets_them_in(standin, client):
    client.create("event-7", "Annual meeting")
    assert not client.is_meeting_running("event-7")

    url = client.join_url("event-7", "Zoë Dupont-Ng", "reg-42", role="MODERATOR")

    params = query_of(url)
    assert url.startswith(standin.url + "api/join?")
    assert params["fullName"] == "Zoë Dupont-Ng" and params["userID"] == "reg-42"
    assert (params["role"], params["redirect"], params["meetingID"]) == (
        "MODERATOR",
        "true",
        "event-7",
    )
    assert len(params["checksum"]) == 64 and SECRET not in url
    assert standin.calls == ["create", "isMeetingRunning"]  # signing a link calls nobody

    status, landed = follow(url)

    assert status == 200 and urllib.parse.urlsplit(landed).path == "/html5client/join"
    assert client.is_meeting_running("event-7")
    info = client.meeting_info("event-7")
    assert info.attendees == [Attendee("reg-42", "Zoë Dupont-Ng", "MODERATOR")]
    assert info.participant_count == 1 and info.running


def test_a_join_url_with_a_changed_name_is_refused(standin, client):
    client.create("event-7", "Annual meeting")
    url = client.join_url("event-7", "Alice", "reg-1")

    forged = url.replace("fullName=Alice", "fullName=Mallory")
    with urllib.request.urlopen(forged, timeout=5) as response:
        body = response.read().decode()

    assert "<messageKey>checksumError</messageKey>" in body
    assert client.meeting_info("event-7").attendees == []


def test_join_url_accepts_only_the_two_roles(client):
    assert query_of(client.join_url("m", "Bob", "u1"))["role"] == "VIEWER"
    with pytest.raises(ValueError, match="VIEWER or MODERATOR"):
        client.join_url("m", "Bob", "u1", role="PRESENTER")


# Checksums
def test_a_wrong_secret_is_refused_with_checksum_error(standin):
    config = {**standin.config(), "secret": "not-the-secret"}
    client = BbbClient(BbbServer("standin", **config), retry_pause=0)

    with pytest.raises(BbbError) as raised:
        client.create("event-7", "Annual meeting")

    assert not isinstance(raised.value, BbbUnavailable)
    assert raised.value.message_key == "checksumError"
    assert raised.value.message == "Checksums do not match"
    assert standin.calls == ["create"] and standin.meetings == {}  # refused, not retried


def test_a_sha1_server_accepts_sha1_and_refuses_sha256():
    standin = BbbStandIn(SECRET, checksum="sha1").start()
    try:
        old = client_for(standin)
        new = BbbClient(BbbServer("new", standin.url, SECRET, "sha256"), retry_pause=0)

        assert len(query_of(old.join_url("m", "A", "u"))["checksum"]) == 40
        assert old.create("event-7", "Annual meeting").duplicate is False
        with pytest.raises(BbbError) as raised:
            new.is_meeting_running("event-7")
        assert raised.value.message_key == "checksumError"
    finally:
        standin.stop()


def test_a_sha512_server_works():
    standin = BbbStandIn(SECRET, checksum="sha512").start()
    try:
        client = client_for(standin)
        client.create("event-7", "Annual meeting")
        follow(client.join_url("event-7", "Ann", "u1"))
        assert client.is_meeting_running("event-7")
    finally:
        standin.stop()


# Reading a meeting
def test_meeting_info_after_someone_left(standin, client):
    client.create("event-7", "Annual meeting")
    standin.add_attendee("event-7", "reg-1", "Ann", "MODERATOR")
    standin.add_attendee("event-7", "reg-2", "Bruno")

    standin.leave("event-7", "reg-1")
    info = client.meeting_info("event-7")

    assert info.attendees == [Attendee("reg-2", "Bruno", "VIEWER")]
    assert info.participant_count == 1
    assert info.running and info.end_time is None
    assert info.start_time is not None and info.start_time.tzinfo is UTC


def test_meeting_info_of_an_unknown_meeting_is_none(standin, client):
    assert client.meeting_info("never-created") is None
    assert not client.is_meeting_running("never-created")
    assert standin.calls == ["getMeetingInfo", "isMeetingRunning"]


def test_meeting_info_lists_a_thousand_attendees(standin, client):
    client.create("big", "Plenary")
    for number in range(1000):
        standin.add_attendee("big", f"reg-{number}", f"Person <{number}> & co")

    info = client.meeting_info("big")

    assert info.participant_count == 1000 and len(info.attendees) == 1000
    assert info.attendees[999] == Attendee("reg-999", "Person <999> & co", "VIEWER")


# Ending
class _CallbackReceiver(BaseHTTPRequestHandler):
    """Keep the paths of the end callbacks received."""

    paths: list[str] = []

    def do_GET(self) -> None:
        """Keep the path and answer 200."""
        self.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args) -> None:
        """Stay quiet."""


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[str]]]:
    paths: list[str] = []
    handler = type("Receiver", (_CallbackReceiver,), {"paths": paths})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", paths
    server.shutdown()
    server.server_close()
    thread.join()


def test_end_stops_the_meeting_and_it_stays_known_as_ended(standin, client):
    client.create("event-7", "Annual meeting")
    standin.add_attendee("event-7", "reg-1", "Ann")

    assert client.end("event-7") is True

    assert not client.is_meeting_running("event-7")
    info = client.meeting_info("event-7")
    assert not info.running and info.attendees == [] and info.end_time is not None
    assert client.end("never-created") is False


def test_ending_in_the_stand_in_calls_the_end_callback(standin, client, receiver):
    base, paths = receiver
    client.create("event-7", "Annual meeting", end_callback_url=f"{base}/rooms/7/ended?t=abc")

    assert standin.end_meeting("event-7") == 200

    assert len(paths) == 1
    path, _, query = paths[0].partition("?")
    assert path == "/rooms/7/ended"
    assert dict(urllib.parse.parse_qsl(query)) == {
        "t": "abc",
        "meetingID": "event-7",
        "recordingmarks": "false",
    }
    assert not client.is_meeting_running("event-7")


def test_a_create_after_the_end_opens_a_new_meeting(standin, client):
    first = client.create("event-7", "Annual meeting")
    standin.end_meeting("event-7")

    second = client.create("event-7", "Annual meeting")

    assert not second.duplicate and second.internal_meeting_id != first.internal_meeting_id
    assert standin.creates == 2


# Recordings
def test_recordings_with_their_playback(standin, client):
    start = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
    end = datetime(2025, 3, 14, 10, 30, tzinfo=UTC)
    standin.add_recording("event-7", "rec-1", start, end, "https://bbb.example.org/play/rec-1")
    standin.add_recording("event-7", "rec-2", start, end, "https://x/rec-2", published=False)
    standin.add_recording("event-8", "rec-3", start, end, "https://x/rec-3")

    recordings = client.recordings("event-7")

    assert [(r.record_id, r.published) for r in recordings] == [("rec-1", True), ("rec-2", False)]
    assert recordings[0].playback_url == "https://bbb.example.org/play/rec-1"
    assert (recordings[0].start_time, recordings[0].end_time) == (start, end)
    assert client.recordings("event-9") == []


# Faults
def test_a_down_server_is_unavailable_after_the_retries(standin):
    client = client_for(standin, retries=2)
    standin.down = True

    with pytest.raises(BbbUnavailable, match="HTTP 503"):
        client.create("event-7", "Annual meeting")

    assert standin.calls == ["create"] * 3 and standin.meetings == {}


def test_a_server_back_up_between_attempts_is_used(standin, monkeypatch):
    client = client_for(standin, retries=2)
    standin.down = True
    # The pause between attempts is where the server comes back.
    monkeypatch.setattr("eventapp.rooms.bbb.time.sleep", lambda _: setattr(standin, "down", False))

    assert client.create("event-7", "Annual meeting").duplicate is False

    assert standin.calls == ["create", "create"] and standin.creates == 1


def test_a_slow_server_hits_the_timeout(standin):
    client = client_for(standin, timeout=0.2, retries=1)
    standin.delay = 2.0

    with pytest.raises(BbbUnavailable, match="timed out"):
        client.is_meeting_running("event-7")

    assert standin.calls == ["isMeetingRunning"] * 2


def test_a_refused_connection_is_unavailable(standin):
    client = client_for(standin, retries=0)
    standin.stop()

    with pytest.raises(BbbUnavailable):
        client.meeting_info("event-7")


def test_a_wrong_path_is_an_error_not_worth_retrying(standin):
    wrong = BbbServer("wrong", standin.url.replace("/bigbluebutton/", "/elsewhere/"), SECRET)
    client = BbbClient(wrong, retry_pause=0)

    with pytest.raises(BbbError) as raised:
        client.is_meeting_running("event-7")

    assert not isinstance(raised.value, BbbUnavailable)
    assert raised.value.message_key == "http404"


def test_no_exception_or_log_line_gives_the_secret_or_a_signed_query(standin, caplog):
    caplog.set_level(logging.DEBUG)
    errors: list[BbbError] = []
    wrong = BbbClient(BbbServer("x", standin.url, SECRET + "-wrong"), retry_pause=0)
    for client, prepare in [
        (wrong, lambda: None),
        (client_for(standin, retries=1), lambda: setattr(standin, "down", True)),
        (client_for(standin, timeout=0.2, retries=1), lambda: setattr(standin, "delay", 2.0)),
    ]:
        prepare()
        with pytest.raises(BbbError) as raised:
            client.create("event-7", "Annual meeting", welcome="hello")
        errors.append(raised.value)

    assert [e.message_key for e in errors] == ["checksumError", "unavailable", "unavailable"]
    text = caplog.text + "".join(
        "".join(traceback.format_exception(e)) + repr(e) + repr(e.__cause__) for e in errors
    )
    assert "trying again" in caplog.text  # the retries were logged
    assert SECRET not in text and "meetingID=" not in text and "checksum=" not in text
    assert SECRET not in repr(wrong.server)


# Configuration
def test_configured_servers_read_bbb_servers():
    servers = configured_servers(
        {
            "BBB_SERVERS": {
                "principal": {"url": "https://bbb.example.org/bigbluebutton/", "secret": "a"},
                "old": {"url": "https://old.example.org", "secret": "b", "checksum": "sha1"},
            }
        }
    )

    assert servers["principal"] == BbbServer(
        "principal", "https://bbb.example.org/bigbluebutton/api/", "a", "sha256"
    )
    assert servers["old"].url == "https://old.example.org/bigbluebutton/api/"
    assert servers["old"].checksum == "sha1"
    assert configured_servers({}) == {}


@pytest.mark.parametrize(
    "url",
    [
        "https://bbb.example.org",
        "https://bbb.example.org/",
        "https://bbb.example.org/bigbluebutton",
        "https://bbb.example.org/bigbluebutton/",
        "https://bbb.example.org/bigbluebutton/api",
        "https://bbb.example.org/bigbluebutton/api/",
    ],
)
def test_server_urls_are_normalised_to_the_api_base(url):
    assert BbbServer("s", url, "x").url == "https://bbb.example.org/bigbluebutton/api/"


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"secret": "a"}, "has no url"),
        ({"url": "https://bbb.example.org", "secret": ""}, "has no secret"),
        ({"url": "https://bbb.example.org"}, "has no secret"),
        ({"url": "https://bbb.example.org", "secret": "a", "checksum": "md5"}, "checksum must"),
        ("https://bbb.example.org", "must be a dict"),
    ],
)
def test_configured_servers_refuse_a_bad_entry(entry, problem):
    with pytest.raises(ValueError, match=problem) as raised:
        configured_servers({"BBB_SERVERS": {"principal": entry}})
    assert "'principal'" in str(raised.value)
