"""A stand-in BigBlueButton server for tests: the API subset eventapp uses, over real HTTP.

It serves create, join, isMeetingRunning, getMeetingInfo, end and getRecordings on a loopback
port (a ThreadingHTTPServer in a daemon thread), checks the checksum of every call with its one
algorithm (a server that speaks sha1 only refuses sha256, as BigBlueButton configured so does),
and answers XML shaped like the API documentation's examples. Meetings live in memory.
One simplification: a join puts the person in the meeting at once and starts it running, where a
real server waits for their browser to open the HTML5 client behind the redirect.

What a real server would do by itself, tests do through controls: `add_attendee` and `leave`
(the HTML5 client's part), `end_meeting` (the moderator's button, with the end callback),
`add_recording` (the recording processing). Faults: `down` answers HTTP 503 to every API call
(a proxy in front of a stopped BigBlueButton says so; a closed connection would look the same to
the client), `delay` sleeps that many seconds before answering. Every API call that arrives is
appended to `calls`, even one answered 503, so tests can count attempts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from tests.pgserver import free_port


def _millis(moment: datetime | None = None) -> int:
    """Return a moment (now by default) as BigBlueButton's millisecond epoch."""
    return int((moment.timestamp() if moment else time.time()) * 1000)


def _response(returncode: str, *parts: str, key: str = "", message: str = "") -> bytes:
    """Build a <response> document from already escaped XML fragments."""
    xml = [f"<response><returncode>{returncode}</returncode>", *parts]
    if key:
        xml.append(f"<messageKey>{key}</messageKey><message>{escape(message)}</message>")
    xml.append("</response>")
    return "".join(xml).encode()


def _failed(key: str, message: str) -> bytes:
    """Build a FAILED answer."""
    return _response("FAILED", key=key, message=message)


def _tags(**values: object) -> str:
    """Render simple elements, booleans as BigBlueButton writes them."""
    out = []
    for tag, value in values.items():
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        out.append(f"<{tag}>{escape(text)}</{tag}>")
    return "".join(out)


@dataclass
class StandInAttendee:
    """One person in a stand-in meeting."""

    user_id: str
    full_name: str
    role: str


@dataclass
class StandInMeeting:
    """One meeting the stand-in holds, with the parameters it was created with."""

    meeting_id: str
    name: str
    params: dict[str, str]
    internal_id: str = field(default_factory=lambda: secrets.token_hex(20) + "-" + str(_millis()))
    create_time: int = field(default_factory=_millis)
    running: bool = False
    end_time: int = 0
    attendees: dict[str, StandInAttendee] = field(default_factory=dict)


@dataclass
class StandInRecording:
    """One recording the stand-in lists."""

    record_id: str
    meeting_id: str
    start: datetime
    end: datetime
    url: str
    published: bool


class BbbStandIn:
    """A stand-in BigBlueButton server on loopback; see the module docstring for its controls."""

    def __init__(self, secret: str, checksum: str = "sha256") -> None:
        self.secret = secret
        self.checksum = checksum
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/bigbluebutton/"
        self.meetings: dict[str, StandInMeeting] = {}
        self.recordings: list[StandInRecording] = []
        self.calls: list[str] = []  # every API call that arrived, in order, by name
        self.creates = 0  # meetings really created (a duplicate create is not counted)
        self.callbacks: list[tuple[str, int | None]] = []  # end callbacks made: url, status
        self.down = False
        self.delay = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle
    def start(self) -> BbbStandIn:
        """Start serving in a daemon thread."""
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.standin = self
        # A short poll interval: stop() waits for the loop to notice, and tests stop often.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; a delayed answer still sleeping is cut short."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def config(self) -> dict[str, str]:
        """Return the settings of this server as one BBB_SERVERS entry (BbbServer's fields)."""
        return {"url": self.url, "secret": self.secret, "checksum": self.checksum}

    # Test controls
    def add_attendee(
        self, meeting_id: str, user_id: str, full_name: str, role: str = "VIEWER"
    ) -> None:
        """Put someone in a meeting as if they had joined; the meeting is running from then."""
        with self._lock:
            meeting = self.meetings[meeting_id]
            meeting.attendees[user_id] = StandInAttendee(user_id, full_name, role.upper())
            if not meeting.end_time:
                meeting.running = True

    def leave(self, meeting_id: str, user_id: str) -> None:
        """Take someone out of a meeting; it keeps running, as BigBlueButton's does for a while."""
        with self._lock:
            self.meetings[meeting_id].attendees.pop(user_id, None)

    def end_meeting(self, meeting_id: str) -> int | None:
        """End a meeting and call its meta_endCallbackUrl; return the callback's HTTP status."""
        callback = self._end(meeting_id)
        return self._call_back(callback) if callback else None

    def add_recording(
        self,
        meeting_id: str,
        record_id: str,
        start: datetime,
        end: datetime,
        url: str,
        published: bool = True,
    ) -> None:
        """List a recording of the meeting, its presentation playback at `url`."""
        with self._lock:
            self.recordings.append(
                StandInRecording(record_id, meeting_id, start, end, url, published)
            )

    # Inside
    def _end(self, meeting_id: str) -> str:
        """Mark a meeting ended and empty it; return its end callback URL ("" when none)."""
        with self._lock:
            meeting = self.meetings[meeting_id]
            meeting.running = False
            meeting.end_time = meeting.end_time or _millis()
            meeting.attendees.clear()
            callback = meeting.params.get("meta_endCallbackUrl", "")
        if not callback:
            return ""
        # BigBlueButton appends the meeting's id and whether recording marks were set, then GETs.
        separator = "&" if "?" in callback else "?"
        query = urllib.parse.urlencode({"meetingID": meeting_id, "recordingmarks": "false"})
        return f"{callback}{separator}{query}"

    def _call_back(self, url: str) -> int | None:
        """GET an end callback URL; None when nobody answered."""
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                status: int | None = response.status
        except urllib.error.HTTPError as error:
            error.close()
            status = error.code
        except OSError:
            status = None
        with self._lock:
            self.callbacks.append((url, status))
        return status

    def _valid(self, call: str, raw_query: str) -> bool:
        """Check a call's checksum the way BigBlueButton does, on the query string as sent."""
        parts = raw_query.split("&") if raw_query else []
        given = [p.removeprefix("checksum=") for p in parts if p.startswith("checksum=")]
        query = "&".join(p for p in parts if not p.startswith("checksum="))
        if len(given) != 1:
            return False
        expected = hashlib.new(self.checksum, (call + query + self.secret).encode()).hexdigest()
        return hmac.compare_digest(given[0].lower(), expected)

    def answer(self, call: str, raw_query: str) -> tuple[int, bytes, str]:
        """Answer one API call: status, body and, for a redirect, its location."""
        if not self._valid(call, raw_query):
            return 200, _failed("checksumError", "Checksums do not match"), ""
        params = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        handler = getattr(self, f"_api_{call}", None)
        if handler is None:
            return 200, _failed("unsupportedRequest", "This request is not supported."), ""
        return handler(params)

    def _api_create(self, params: dict[str, str]) -> tuple[int, bytes, str]:
        """Create a meeting once; a repeated create answers SUCCESS with duplicateWarning."""
        meeting_id = params.get("meetingID", "")
        if not meeting_id:
            return 200, _failed("missingParamMeetingID", "You must specify a meeting ID."), ""
        with self._lock:
            meeting = self.meetings.get(meeting_id)
            duplicate = meeting is not None and not meeting.end_time
            if not duplicate:
                meeting = StandInMeeting(meeting_id, params.get("name", meeting_id), params)
                self.meetings[meeting_id] = meeting
                self.creates += 1
            body = _tags(
                meetingID=meeting.meeting_id,
                internalMeetingID=meeting.internal_id,
                parentMeetingID="bbb-none",
                createTime=meeting.create_time,
                voiceBridge=70000 + len(self.meetings),
                hasUserJoined=bool(meeting.attendees),
                duration=0,
                hasBeenForciblyEnded=False,
            )
        if duplicate:
            message = "This conference was already in existence and may currently be in progress."
            return 200, _response("SUCCESS", body, key="duplicateWarning", message=message), ""
        return 200, _response("SUCCESS", body), ""

    def _api_join(self, params: dict[str, str]) -> tuple[int, bytes, str]:
        """Check the link, put the person in the meeting and redirect to the client page."""
        meeting_id = params.get("meetingID", "")
        if meeting_id not in self.meetings or self.meetings[meeting_id].end_time:
            message = "The meeting ID that you supplied did not match any existing meetings"
            return 200, _failed("invalidMeetingIdentifier", message), ""
        user_id = params.get("userID") or f"w_{secrets.token_hex(6)}"
        role = params.get("role", "VIEWER").upper()
        if role not in ("VIEWER", "MODERATOR"):
            return 200, _failed("invalidRole", "The role is not VIEWER or MODERATOR."), ""
        self.add_attendee(meeting_id, user_id, params.get("fullName", ""), role)
        token = secrets.token_hex(8)
        location = f"http://127.0.0.1:{self.port}/html5client/join?sessionToken={token}"
        if params.get("redirect", "true") == "true":
            return 302, b"", location
        body = _tags(meeting_id=meeting_id, user_id=user_id, session_token=token, url=location)
        return 200, _response("SUCCESS", body, key="successfullyJoined", message="Joined"), ""

    def _api_isMeetingRunning(self, params: dict[str, str]) -> tuple[int, bytes, str]:
        """Tell whether the meeting has someone in it and has not ended."""
        with self._lock:
            meeting = self.meetings.get(params.get("meetingID", ""))
            running = meeting is not None and meeting.running
        return 200, _response("SUCCESS", _tags(running=running)), ""

    def _api_getMeetingInfo(self, params: dict[str, str]) -> tuple[int, bytes, str]:
        """Describe a meeting and list its attendees, or answer notFound."""
        with self._lock:
            meeting = self.meetings.get(params.get("meetingID", ""))
            if meeting is None:
                message = "We could not find a meeting with that meeting ID"
                return 200, _failed("notFound", message), ""
            attendees = list(meeting.attendees.values())
            moderators = sum(a.role == "MODERATOR" for a in attendees)
            head = _tags(
                meetingName=meeting.name,
                meetingID=meeting.meeting_id,
                internalMeetingID=meeting.internal_id,
                createTime=meeting.create_time,
                voiceBridge=70000,
                running=meeting.running,
                duration=0,
                hasUserJoined=bool(attendees) or meeting.running,
                recording=False,
                hasBeenForciblyEnded=bool(meeting.end_time),
                startTime=meeting.create_time,
                endTime=meeting.end_time,
                participantCount=len(attendees),
                listenerCount=0,
                voiceParticipantCount=0,
                videoCount=0,
                maxUsers=0,
                moderatorCount=moderators,
            )
        # One string per attendee, escaped directly: a benchmark polls rooms of 1,000 people.
        rows = [
            f"<attendee><userID>{escape(a.user_id)}</userID>"
            f"<fullName>{escape(a.full_name)}</fullName><role>{a.role}</role>"
            f"<isPresenter>false</isPresenter><isListeningOnly>false</isListeningOnly>"
            f"<hasJoinedVoice>false</hasJoinedVoice><hasVideo>false</hasVideo>"
            f"<clientType>HTML5</clientType></attendee>"
            for a in attendees
        ]
        body = (
            f"{head}<attendees>{''.join(rows)}</attendees><metadata/><isBreakout>false</isBreakout>"
        )
        return 200, _response("SUCCESS", body), ""

    def _api_end(self, params: dict[str, str]) -> tuple[int, bytes, str]:
        """End a meeting and call back its meta_endCallbackUrl in the background."""
        meeting_id = params.get("meetingID", "")
        with self._lock:
            known = meeting_id in self.meetings and not self.meetings[meeting_id].end_time
        if not known:
            return 200, _failed("notFound", "We could not find a meeting with that meeting ID"), ""
        callback = self._end(meeting_id)
        if callback:
            # BigBlueButton calls back on its own time, never inside the end request.
            threading.Thread(target=self._call_back, args=(callback,), daemon=True).start()
        message = "A request to end the meeting was sent. Please wait a few seconds, and then use the getMeetingInfo or isMeetingRunning API calls to verify that it was ended."
        return 200, _response("SUCCESS", key="sentEndMeetingRequest", message=message), ""

    def _api_getRecordings(self, params: dict[str, str]) -> tuple[int, bytes, str]:
        """List the recordings of the meetings asked for (all when none is named)."""
        wanted = {m for m in params.get("meetingID", "").split(",") if m}
        with self._lock:
            found = [r for r in self.recordings if not wanted or r.meeting_id in wanted]
        rows = []
        for r in found:
            start, end = _millis(r.start), _millis(r.end)
            rows.append(
                "<recording>"
                + _tags(
                    recordID=r.record_id,
                    meetingID=r.meeting_id,
                    internalMeetingID=r.record_id,
                    name=r.meeting_id,
                    isBreakout=False,
                    published=r.published,
                    state="published" if r.published else "unpublished",
                    startTime=start,
                    endTime=end,
                    participants=0,
                )
                + "<metadata/><playback><format>"
                + _tags(type="presentation", url=r.url, processingTime=0)
                + _tags(length=max(0, (end - start) // 60000))
                + "</format></playback></recording>"
            )
        body = f"<recordings>{''.join(rows)}</recordings>"
        if not rows:
            message = "There are no recordings for the meeting(s)."
            return 200, _response("SUCCESS", body, key="noRecordings", message=message), ""
        return 200, _response("SUCCESS", body), ""


class _Server(ThreadingHTTPServer):
    """The HTTP server, quiet about clients that went away."""

    daemon_threads = True
    standin: BbbStandIn

    def handle_error(self, request, client_address) -> None:
        """Ignore a client that hung up before its answer (a timed-out client does)."""


class _Handler(BaseHTTPRequestHandler):
    """Route GET requests to the stand-in's API or to the fake client page."""

    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        """Serve the fake client page or one API call, faults first."""
        standin = self.server.standin
        path, _, raw_query = self.path.partition("?")
        if path == "/html5client/join":
            self._send(200, b"<!doctype html><title>BigBlueButton</title>", "text/html")
            return
        call = path.removeprefix("/bigbluebutton/api/")
        if call == path or "/" in call:
            self._send(404, b"Not Found", "text/plain")
            return
        with standin._lock:
            standin.calls.append(call)
        if standin.delay and standin._stopping.wait(standin.delay):
            return  # stopping: answer nothing
        if standin.down:
            self._send(503, b"Service Unavailable", "text/plain")
            return
        status, body, location = standin.answer(call, raw_query)
        self._send(status, body, "text/xml;charset=utf-8", location)

    def _send(self, status: int, body: bytes, content_type: str, location: str = "") -> None:
        """Send a complete answer with its length, so the connection can be reused."""
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        """Keep the access log out of the test output."""
