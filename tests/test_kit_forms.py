"""The kit forms read their date-time field in the kit's zone, through one shared base."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eventapp.admin.forms.kits import LocalTimeForm, RescheduleForm, SheetForm, WeeklyScheduleForm

SKIPPED = "2030-03-31T02:30"  # Paris jumps from 2:00 to 3:00 that night
SUMMER = "2030-06-01T10:00"  # 08:00 UTC in Paris


def posted(app, form_class, tz_name: str = "Europe/Paris", **data) -> LocalTimeForm:
    """Build the form from a POST of `data`, validated, CSRF aside."""
    with app.test_request_context(method="POST", data=data):
        form = form_class(tz_name=tz_name, meta={"csrf": False})
        form.valid = form.validate()
        return form


SHEET = {"number": "3", "title": "Tourisme et ESS"}
WEEKLY = {"every_weeks": "1"}


@pytest.mark.parametrize(
    ("form_class", "data", "field", "result"),
    [
        (SheetForm, SHEET, "release_at", "release_utc"),
        (RescheduleForm, {}, "release_at", "release_utc"),
        (WeeklyScheduleForm, WEEKLY, "first_release", "first_utc"),
    ],
)
def test_each_kit_form_reads_its_time_in_the_kit_zone_and_refuses_a_skipped_one(
    app, form_class, data, field, result
):
    good = posted(app, form_class, **data, **{field: SUMMER})
    assert good.valid
    assert getattr(good, result) == datetime(2030, 6, 1, 8, 0, tzinfo=UTC)

    bad = posted(app, form_class, **data, **{field: SKIPPED})
    assert not bad.valid
    assert getattr(bad, result) is None
    assert "n'existe pas ce jour-là" in str(bad[field].errors[0])


def test_an_empty_release_takes_the_sheet_off_the_calendar(app):
    form = posted(app, RescheduleForm, release_at="")
    assert form.valid and form.release_utc is None


def test_the_weekly_schedule_still_requires_its_first_release(app):
    form = posted(app, WeeklyScheduleForm, **WEEKLY)
    assert not form.valid and form.first_utc is None
    assert form.first_release.errors


def test_an_unknown_zone_reads_the_time_as_utc(app):
    form = posted(app, RescheduleForm, tz_name="Mars/Olympus", release_at=SUMMER)
    assert form.valid and form.release_utc == datetime(2030, 6, 1, 10, 0, tzinfo=UTC)


def test_the_utc_value_is_none_before_validation(app):
    with app.test_request_context(method="POST", data={"release_at": SUMMER}):
        assert RescheduleForm(meta={"csrf": False}).release_utc is None
        assert WeeklyScheduleForm(meta={"csrf": False}).first_utc is None
