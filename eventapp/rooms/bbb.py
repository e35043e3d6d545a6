"""A client for the BigBlueButton API (2.6 or later): open a room, sign join links, see who is in.

Every call is a GET on `<server>/bigbluebutton/api/<call>?<query>&checksum=<sha>` where the
checksum is sha(call + query + shared secret); the answer is XML with a returncode of SUCCESS or
FAILED. Standard library only. The shared secret never appears in an exception or a log line,
nor does a signed query string: the checksum alone is harmless, the pair is a credential.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

log = logging.getLogger(__name__)

CHECKSUMS = ("sha1", "sha256", "sha512")
ROLES = ("VIEWER", "MODERATOR")


def api_base(url: str) -> str:
    """Return the API base ".../bigbluebutton/api/" of a server URL given with or without it."""
    base = url.strip().rstrip("/")
    if base.endswith("/api"):
        base = base.removesuffix("/api")
    if not base.endswith("/bigbluebutton"):
        base += "/bigbluebutton"
    return base + "/api/"


@dataclass(frozen=True)
class BbbServer:
    """One BigBlueButton server: its API base, its shared secret and its checksum algorithm."""

    name: str
    url: str
    secret: str = field(repr=False)  # a server printed in a log must not give its secret away
    checksum: str = "sha256"

    def __post_init__(self) -> None:
        if self.checksum not in CHECKSUMS:
            raise ValueError(
                f"BigBlueButton server {self.name!r}: checksum must be one of "
                f"{', '.join(CHECKSUMS)}, not {self.checksum!r}"
            )
        object.__setattr__(self, "url", api_base(self.url))


def configured_servers(config: Mapping) -> dict[str, BbbServer]:
    """Read BBB_SERVERS ({name: {url, secret, checksum}}) into servers; ValueError on a bad one."""
    servers: dict[str, BbbServer] = {}
    for name, entry in (config.get("BBB_SERVERS") or {}).items():
        if not isinstance(entry, Mapping):
            raise ValueError(f"BBB_SERVERS[{name!r}] must be a dict with url and secret")
        for key in ("url", "secret"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise ValueError(f"BBB_SERVERS[{name!r}] has no {key}")
        checksum = entry.get("checksum", "sha256")
        if checksum not in CHECKSUMS:
            raise ValueError(
                f"BBB_SERVERS[{name!r}]: checksum must be one of {', '.join(CHECKSUMS)}, "
                f"not {checksum!r}"
            )
        servers[name] = BbbServer(name, entry["url"], entry["secret"], checksum)
    return servers


class BbbError(Exception):
    """The server answered FAILED; `message_key` is BigBlueButton's code for why."""

    def __init__(self, call: str, message_key: str, message: str = "") -> None:
        super().__init__(
            f"BigBlueButton {call}: {message_key}" + (f": {message}" if message else "")
        )
        self.call = call
        self.message_key = message_key
        self.message = message


class BbbUnavailable(BbbError):
    """No usable answer (refused, timed out, HTTP 5xx, not XML): worth trying again later."""

    def __init__(self, call: str, reason: str) -> None:
        super().__init__(call, "unavailable", reason)


@dataclass(frozen=True)
class Meeting:
    """A meeting as create answered it; `duplicate` when it already existed."""

    meeting_id: str
    internal_meeting_id: str
    create_time: datetime | None
    duplicate: bool


@dataclass(frozen=True)
class Attendee:
    """One person in a meeting, as getMeetingInfo lists them."""

    user_id: str
    full_name: str
    role: str


@dataclass(frozen=True)
class MeetingInfo:
    """What getMeetingInfo says of a meeting: running or not, since when, and who is in."""

    meeting_id: str
    running: bool
    start_time: datetime | None
    end_time: datetime | None
    participant_count: int
    attendees: list[Attendee]


@dataclass(frozen=True)
class Recording:
    """One recording of a meeting and where to watch it."""

    record_id: str
    published: bool
    start_time: datetime | None
    end_time: datetime | None
    playback_url: str | None


def from_millis(text: str | None) -> datetime | None:
    """Turn BigBlueButton's millisecond epoch into an aware UTC datetime; None for 0 or nothing."""
    millis = int(text or 0)
    return datetime.fromtimestamp(millis / 1000, UTC) if millis else None


def _text(element: ET.Element, tag: str) -> str:
    """Return the text of a child element, "" when it is missing or empty."""
    return (element.findtext(tag) or "").strip()


class BbbClient:
    """Calls to one BigBlueButton server, each retried on BbbUnavailable only."""

    def __init__(
        self, server: BbbServer, timeout: float = 5.0, retries: int = 2, retry_pause: float = 0.5
    ) -> None:
        self.server = server
        self.timeout = timeout
        self.retries = retries
        self.retry_pause = retry_pause

    # Signing
    def checksum(self, call: str, query: str) -> str:
        """Return the API checksum of one call and its query string."""
        data = (call + query + self.server.secret).encode()
        return hashlib.new(self.server.checksum, data).hexdigest()

    def url(self, call: str, params: Mapping[str, str]) -> str:
        """Return the signed URL of a call."""
        # %20 rather than +: the checksum covers the query as sent, and %20 is what the docs use.
        query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        checksum = f"checksum={self.checksum(call, query)}"
        return f"{self.server.url}{call}?{query + '&' if query else ''}{checksum}"

    # Transport
    def _fetch(self, call: str, params: Mapping[str, str]) -> ET.Element:
        """Make one call; return the <response> element when SUCCESS."""
        request = urllib.request.Request(self.url(call, params), headers={"Accept": "text/xml"})
        # Errors are raised `from None`: urllib's own exceptions carry the signed URL.
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            error.close()
            if error.code >= 500:
                raise BbbUnavailable(call, f"HTTP {error.code}") from None
            raise BbbError(call, f"http{error.code}", error.reason) from None
        except urllib.error.URLError as error:
            raise BbbUnavailable(call, str(error.reason)) from None
        except (OSError, http.client.HTTPException) as error:
            raise BbbUnavailable(call, str(error) or type(error).__name__) from None
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            raise BbbUnavailable(call, "the answer is not XML") from None
        if _text(root, "returncode") != "SUCCESS":
            raise BbbError(call, _text(root, "messageKey") or "FAILED", _text(root, "message"))
        return root

    def _call(self, call: str, params: Mapping[str, str]) -> ET.Element:
        """Make one call, trying again after a pause while the server is unavailable."""
        for attempt in range(self.retries + 1):
            try:
                return self._fetch(call, params)
            except BbbUnavailable as error:
                if attempt == self.retries:
                    raise
                log.warning(
                    "BigBlueButton %s: %s (attempt %d of %d), trying again",
                    self.server.name,
                    error,
                    attempt + 1,
                    self.retries + 1,
                )
                time.sleep(self.retry_pause)
        raise AssertionError("unreachable")

    # The API
    def create(
        self,
        meeting_id: str,
        name: str,
        *,
        welcome: str = "",
        record: bool = False,
        logout_url: str = "",
        meta: dict[str, str] | None = None,
        end_callback_url: str = "",
        moderator_only_message: str = "",
    ) -> Meeting:
        """Create the meeting, or find it already created (create is idempotent)."""
        params = {"meetingID": meeting_id, "name": name}
        if welcome:
            params["welcome"] = welcome
        if moderator_only_message:
            params["moderatorOnlyMessage"] = moderator_only_message
        # Recording is allowed, never automatic: the moderator decides when it starts.
        params["record"] = "true" if record else "false"
        params["autoStartRecording"] = "false"
        params["allowStartStopRecording"] = "true" if record else "false"
        if logout_url:
            params["logoutURL"] = logout_url
        for key, value in (meta or {}).items():
            params[f"meta_{key}"] = value
        if end_callback_url:
            params["meta_endCallbackUrl"] = end_callback_url
        root = self._call("create", params)
        return Meeting(
            meeting_id=_text(root, "meetingID") or meeting_id,
            internal_meeting_id=_text(root, "internalMeetingID"),
            create_time=from_millis(_text(root, "createTime")),
            duplicate=_text(root, "messageKey") == "duplicateWarning",
        )

    def join_url(
        self, meeting_id: str, full_name: str, user_id: str, *, role: str = "VIEWER"
    ) -> str:
        """Return the signed link that takes one person into the meeting (no call is made)."""
        if role not in ROLES:
            raise ValueError(f"role must be VIEWER or MODERATOR, not {role!r}")
        params = {
            "fullName": full_name,
            "meetingID": meeting_id,
            "role": role,
            "userID": user_id,
            "redirect": "true",
        }
        return self.url("join", params)

    def is_meeting_running(self, meeting_id: str) -> bool:
        """Tell whether the meeting exists and someone joined it, and it has not ended."""
        return _text(self._call("isMeetingRunning", {"meetingID": meeting_id}), "running") == "true"

    def meeting_info(self, meeting_id: str) -> MeetingInfo | None:
        """Return the meeting's state and attendees; None when the server does not know it."""
        try:
            root = self._call("getMeetingInfo", {"meetingID": meeting_id})
        except BbbError as error:
            if error.message_key == "notFound":
                return None
            raise
        attendees = [
            Attendee(_text(a, "userID"), _text(a, "fullName"), _text(a, "role"))
            for a in root.iterfind("attendees/attendee")
        ]
        return MeetingInfo(
            meeting_id=_text(root, "meetingID") or meeting_id,
            running=_text(root, "running") == "true",
            start_time=from_millis(_text(root, "startTime")),
            end_time=from_millis(_text(root, "endTime")),
            participant_count=int(_text(root, "participantCount") or 0),
            attendees=attendees,
        )

    def end(self, meeting_id: str) -> bool:
        """End the meeting for everyone; False when there was no such meeting to end."""
        try:
            self._call("end", {"meetingID": meeting_id})
        except BbbError as error:
            if error.message_key == "notFound":
                return False
            raise
        return True

    def recordings(self, meeting_id: str) -> list[Recording]:
        """Return the meeting's recordings, each with its presentation playback if it has one."""
        root = self._call("getRecordings", {"meetingID": meeting_id})
        found = []
        for recording in root.iterfind("recordings/recording"):
            formats = {
                _text(f, "type"): _text(f, "url") for f in recording.iterfind("playback/format")
            }
            playback = formats.get("presentation") or next(iter(formats.values()), None)
            found.append(
                Recording(
                    record_id=_text(recording, "recordID"),
                    published=_text(recording, "published") == "true",
                    start_time=from_millis(_text(recording, "startTime")),
                    end_time=from_millis(_text(recording, "endTime")),
                    playback_url=playback or None,
                )
            )
        return found
