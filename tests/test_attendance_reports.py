"""Attendance reports of Zoom, Teams, BigBlueButton and Visio: read, mapped, merged, matched."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask_babel import Babel

from eventapp.rooms.reports import (
    MAX_ROWS,
    Registrant,
    ReportError,
    ReportRow,
    guess_mapping,
    match_people,
    merge_by_person,
    parse_rows,
    parsed_minutes,
    parsed_moment,
    read_report,
    reads_day_first,
)

DATA = Path(__file__).parent / "data" / "attendance"
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def babel_context():
    """Render the lazy messages as an organiser would read them, without a database."""
    app = Flask(__name__)
    Babel(app)
    with app.app_context():
        yield


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def read(name: str):
    report = read_report((DATA / name).read_bytes())
    mapping = guess_mapping(report.columns)
    return report, mapping, *parse_rows(report, mapping, PARIS)


def test_zoom_english_export_skips_the_meeting_details_and_reads_us_dates():
    report, mapping, rows, problems = read("zoom_en.csv")

    assert report.columns[:5] == [
        "Name (Original Name)",
        "User Email",
        "Join Time",
        "Leave Time",
        "Duration (Minutes)",
    ]
    assert report.first_line == 5
    assert mapping == {
        "email": 1,
        "name": 0,
        "joined_at": 2,
        "left_at": 3,
        "minutes": 4,
        "first_name": None,
    }
    assert problems == []
    assert [row.line for row in rows] == [5, 6, 7, 8]
    bob = rows[2]
    assert (bob.name, bob.email, bob.minutes) == ("Bob Durand", None, 90)
    # 12/10/2026 01:31:05 PM in Paris, in winter: December 10th, 12:31:05 UTC.
    assert bob.joined_at == utc(2026, 12, 10, 12, 31, 5)


def test_zoom_french_export_with_bom_and_semicolons():
    report, mapping, rows, problems = read("zoom_fr.csv")

    assert report.columns[0] == "Nom (nom d'origine)"  # the BOM is not part of the header
    assert (mapping["name"], mapping["email"], mapping["minutes"]) == (0, 1, 4)
    assert (mapping["joined_at"], mapping["left_at"]) == (2, 3)
    assert problems == []
    assert [(row.name, row.minutes) for row in rows] == [
        ("Élodie Lefèvre", 75),
        ("Jean-Éric Dupont", 85),
        ("Claire Petit", 80),
    ]
    # 10/12/2026 with a 24-hour clock is the 10th of December, not October 12th.
    assert rows[0].joined_at == utc(2026, 12, 10, 12, 30)


def test_teams_french_export_in_utf16_finds_the_participants_under_the_summary():
    report, mapping, rows, problems = read("teams_fr.csv")

    assert report.columns[:4] == [
        "Nom",
        "Première participation",
        "Dernier départ",
        "Durée de la réunion",
    ]
    assert report.first_line == 10
    assert (mapping["name"], mapping["joined_at"], mapping["left_at"]) == (0, 1, 2)
    assert (mapping["minutes"], mapping["email"]) == (3, 4)  # "E-mail" before the UPN
    assert problems == []
    # The "3. Activités en réunion" section repeats Élodie per session: it is not read.
    assert [row.name for row in rows] == ["Élodie Lefèvre", "Marc Bernard", "Sophie Roux"]
    # Teams' in-meeting duration, not last leave minus first join (90 minutes).
    assert rows[0].minutes == 80
    assert rows[0].joined_at == utc(2026, 12, 10, 12, 31, 5)
    assert (rows[2].email, rows[2].minutes) == (None, 30)


def test_bigbluebutton_learning_dashboard_export():
    report, mapping, rows, problems = read("bbb_dashboard.csv")

    assert mapping == {
        "email": None,
        "name": 0,
        "joined_at": 9,
        "left_at": 10,
        "minutes": 11,
        "first_name": None,
    }
    assert [row.name for row in rows] == ["Marc Bernard", "claire PETIT", "Paul Henry"]
    assert rows[0].joined_at == utc(2026, 12, 10, 12, 29, 10)
    assert rows[0].minutes == 92  # "01:32:50"
    claire = rows[1]
    assert (claire.left_at, claire.minutes) == (None, 65)  # "-": still there at the export
    # The row of anonymous poll answers is no one's presence, and it says so.
    assert [problem.line for problem in problems] == [5]
    assert str(problems[0].message) == "Ligne 5 : ni heure ni durée de présence."


def test_visio_export_builds_the_name_from_first_and_last_name():
    report, mapping, rows, problems = read("visio.csv")

    assert (mapping["first_name"], mapping["name"], mapping["email"]) == (0, 1, 2)
    assert (mapping["joined_at"], mapping["left_at"], mapping["minutes"]) == (3, 4, 5)
    assert problems == []
    assert [row.name for row in rows] == ["Élodie LEFÈVRE", "Jean Dupont", "Anne Morel"]
    assert rows[0].minutes == 60  # no duration: leave minus join
    # 13/12/2026 can only be day first, so 10/12/2026 in the same file is December 10th.
    assert rows[0].joined_at == utc(2026, 12, 10, 12, 30)
    anne = rows[2]
    assert (anne.left_at, anne.minutes) == (None, 45)


def test_reconnections_are_one_person_and_overlaps_count_once():
    *_, rows, _problems = read("zoom_en.csv")

    people = merge_by_person(rows)

    alice = next(person for person in people if person.name == "Alice Martin")
    assert alice.lines == [5, 6, 8]  # "Alice.Martin@Example.org " is the same address
    # 30 + 32 + 20 minutes, less the 2 minutes (13:58 to 14:00) of two rows at once.
    assert alice.minutes == 80
    assert alice.spans == [
        (utc(2026, 12, 10, 12, 30), utc(2026, 12, 10, 13, 30)),
        (utc(2026, 12, 10, 13, 40), utc(2026, 12, 10, 14, 0)),
    ]
    assert len(people) == 2


def test_without_a_duration_column_the_union_of_spans_counts():
    data = (
        "Nom;Arrivée;Départ\n"
        "Léa Blanc;10/12/2026 09:00;10/12/2026 10:00\n"
        "lea  blanc;10/12/2026 09:30;10/12/2026 10:30\n"
        "LÉA BLANC;10/12/2026 09:40;10/12/2026 09:50\n"
    ).encode()
    report = read_report(data)
    rows, problems = parse_rows(report, guess_mapping(report.columns), PARIS)

    (lea,) = merge_by_person(rows)

    assert problems == []
    assert (lea.lines, lea.minutes) == ([2, 3, 4], 90)


def test_durations_only_are_summed():
    rows = [
        ReportRow(2, "a@example.org", "A", None, None, 20),
        ReportRow(3, "A@example.org", "A", None, None, 25),
    ]

    (person,) = merge_by_person(rows)

    assert (person.minutes, person.spans) == (45, [])


@pytest.mark.parametrize(
    "values, day_first",
    [
        (["10/12/2026 13:00", "13/12/2026 09:00"], True),  # a first number over 12 is a day
        (["12/13/2026 13:00", "12/10/2026 09:00"], False),  # a second one over 12 is too
        (["10/12/2026 13:00"], True),  # 24-hour clock: the French order
        (["10/12/2026 01:00 PM"], False),  # 12-hour clock: the United States' order
        (["10/12/26, 1:31:05 PM"], False),
    ],
)
def test_day_or_month_first_is_decided_per_file(values, day_first):
    assert reads_day_first(values) is day_first


@pytest.mark.parametrize(
    "value, day_first, moment",
    [
        ("2026-12-10 13:31:05", True, utc(2026, 12, 10, 12, 31, 5)),
        ("2026-12-10T13:31:05+02:00", True, utc(2026, 12, 10, 11, 31, 5)),
        ("2026-12-10T12:31:05Z", True, utc(2026, 12, 10, 12, 31, 5)),
        ("12/10/2026 01:31:05 PM", False, utc(2026, 12, 10, 12, 31, 5)),
        ("10/12/2026 13:31:05", True, utc(2026, 12, 10, 12, 31, 5)),
        ("12/10/26, 1:31:05 PM", False, utc(2026, 12, 10, 12, 31, 5)),
        ("12/10/2026 12:05 AM", False, utc(2026, 12, 9, 23, 5)),
        ("10.12.2026 13:31", True, utc(2026, 12, 10, 12, 31)),
        ("31/02/2026 13:31", True, None),
        ("13:31", True, None),
        ("demain", True, None),
    ],
)
def test_moments_are_read_in_the_event_zone_and_kept_in_utc(value, day_first, moment):
    assert parsed_moment(value, PARIS, day_first) == moment


@pytest.mark.parametrize(
    "value, minutes",
    [
        ("65", 65),
        ("65,5", 65),
        ("1h 5m 3s", 65),
        ("1h5m", 65),
        ("1 h 05 min", 65),
        ("30 min 30 s", 30),
        ("01:05:03", 65),
        ("1:05", 65),
        ("1 heure", 60),
        ("1:75", None),
        ("beaucoup", None),
        ("5 min environ", None),
    ],
)
def test_durations_in_the_platforms_formats(value, minutes):
    assert parsed_minutes(value) == minutes


def test_bad_rows_are_reported_with_their_line_and_none_is_dropped():
    data = (
        "Nom,E-mail,Arrivée,Départ,Durée\n"
        "Alice,alice@example.org,10/12/2026 13:00,10/12/2026 14:00,\n"  # 2: fine
        "Bob,,hier soir,10/12/2026 14:00,\n"  # 3: unreadable arrival
        ",,10/12/2026 13:00,10/12/2026 14:00,60\n"  # 4: no one
        "Chloé,,,,\n"  # 5: no time at all
        "\n"  # 6: a blank line is no row
        "Denis,,10/12/2026 14:00,10/12/2026 13:00,\n"  # 7: leaves before arriving
        "Emma,,10/12/2026 13:00,10/12/2026 14:00,une heure\n"  # 8: unreadable duration
        "Farid,,,10/13/2026 14:00,\n"  # 9: a 13th month, since line 10 says day first
        "Hugo,,13/12/2026 13:00,13/12/2026 14:00,\n"  # 10: fine
        "Gaëlle,,,,40\n"  # 11: a duration alone is enough
    ).encode()
    report = read_report(data)

    rows, problems = parse_rows(report, guess_mapping(report.columns), PARIS)

    assert [row.line for row in rows] == [2, 10, 11]
    assert {problem.line: str(problem.message) for problem in problems} == {
        3: "Ligne 3 : l'heure d'arrivée « hier soir » n'est pas une date lisible.",
        4: "Ligne 4 : ni nom ni adresse mail.",
        5: "Ligne 5 : ni heure ni durée de présence.",
        7: "Ligne 7 : l'heure de départ précède l'heure d'arrivée.",
        8: "Ligne 8 : la durée « une heure » n'est pas une durée lisible.",
        9: "Ligne 9 : l'heure de départ « 10/13/2026 14:00 » n'est pas une date lisible.",
    }
    non_blank = [report.first_line + i for i, cells in enumerate(report.rows) if any(cells)]
    assert sorted([row.line for row in rows] + [p.line for p in problems]) == non_blank


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"  \r\n",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml",
        b"\x00\x01\x02\x03\xff\xfe\x00binary\x00junk" * 10,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    ],
    ids=["empty", "blank", "xlsx", "junk", "png"],
)
def test_files_that_are_no_csv_are_refused_with_a_message_that_says_csv(data):
    with pytest.raises(ReportError) as refused:
        read_report(data)

    assert "CSV" in str(refused.value.message)


def test_an_unknown_layout_is_read_for_the_organiser_to_map():
    report = read_report(b"Qui;Quand\nAlice;10/12/2026\n")

    assert report.columns == ["Qui", "Quand"]
    assert report.rows == [["Alice", "10/12/2026"]]
    assert set(guess_mapping(report.columns).values()) == {None}


def test_utf16_big_endian_and_cp1252_are_read():
    text = "Nom\tDurée\nÉlodie\t30\n"

    for data in (codecs.BOM_UTF16_BE + text.encode("utf-16-be"), text.encode("cp1252")):
        report = read_report(data)
        assert (report.columns, report.rows) == (["Nom", "Durée"], [["Élodie", "30"]])


def test_at_most_20000_rows_and_5_mb():
    header = b"Name,Duration\n"
    row = b"Someone,30\n"

    assert len(read_report(header + row * MAX_ROWS).rows) == MAX_ROWS
    with pytest.raises(ReportError) as too_many:
        read_report(header + row * (MAX_ROWS + 1))
    assert "20 000" in str(too_many.value.message)
    with pytest.raises(ReportError) as too_big:
        read_report(header + b"x" * (5 * 1024 * 1024))
    assert "5 Mo" in str(too_big.value.message)


def test_people_are_matched_by_address_then_by_a_name_only_one_registrant_has():
    registrants = [
        Registrant(1, "Alice.Martin@example.org", "Alice Martin"),
        Registrant(2, "jean-eric.dupont@example.fr", "DUPONT Jean-Éric"),
        Registrant(3, "claire.petit@example.fr", "Claire Petit"),
        Registrant(4, "c.petit@example.com", "claire petit"),
        Registrant(5, "sophie.roux@example.fr", "Sophie Roux"),
    ]
    rows = [
        ReportRow(2, " ALICE.martin@Example.org ", "A. M.", None, None, 30),
        ReportRow(3, None, "jean eric  dupont", None, None, 30),
        ReportRow(4, None, "Claire Petit", None, None, 30),
        ReportRow(5, "someone@else.org", "Inconnu Total", None, None, 30),
        ReportRow(6, "sophie@home.example", "Roux Sophie", None, None, 30),
        ReportRow(7, None, "(Invité)", None, None, 30),
        ReportRow(8, None, "(Guest)", None, None, 30),
    ]

    matches = match_people(merge_by_person(rows), registrants)

    assert [(m.person.lines, m.registration_id, m.how) for m in matches] == [
        ([2], 1, "email"),
        ([3], 2, "name"),  # accents, case, hyphen, spaces and order ignored
        ([4], None, "ambiguous"),  # two registrants are called Claire Petit
        ([5], None, "none"),
        ([6], 5, "name"),  # another address than the registration's: the name decides
        ([7], None, "none"),  # a remark alone is no name: two guests stay two people
        ([8], None, "none"),
    ]


@pytest.mark.parametrize(
    "row",
    [
        "Ana,ana@example.org,9999-12-31T23:59:59-05:00,,",
        "Ana,ana@example.org,,,99999999999",
        "Ana,ana@example.org,2026-12-10 13:00:00,2026-12-12 13:00:00,",
    ],
)
def test_impossible_times_and_durations_are_problems_not_crashes(row):
    report = read_report(f"Name,Email,Join Time,Leave Time,Duration (Minutes)\n{row}\n".encode())
    rows, problems = parse_rows(report, guess_mapping(report.columns), ZoneInfo("Europe/Paris"))
    assert rows == [] and [problem.line for problem in problems] == [2]
