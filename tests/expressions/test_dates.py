"""Date filters and now()."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ostinato.expressions import ExpressionError, render

NOW = dt.datetime(2024, 3, 9, 14, 5, 7, 123456, tzinfo=dt.UTC)
D = "2024-01-02T03:04:05.120Z"


def r(template: str, **context: Any) -> str:
    return render(template, {"__now__": NOW, "d": D, **context})


class TestNow:
    def test_iso_with_offset(self) -> None:
        assert r("{{ now() }}") == "2024-03-09T14:05:07.123456Z"

    def test_time_zone_and_format(self) -> None:
        assert r("{{ now(timeZone='Europe/Paris') }}") == "2024-03-09T15:05:07.123456+01:00"
        assert r("{{ now(format='yyyy-MM-dd') }}") == "2024-03-09"

    def test_missing_render_time(self) -> None:
        with pytest.raises(ExpressionError, match=r"now\(\) needs the render time"):
            render("{{ now() }}", {})

    def test_pipes_into_date_filters(self) -> None:
        assert r("{{ now() | dateAdd(-1, 'DAYS') | date('yyyy-MM-dd') }}") == "2024-03-08"


class TestDate:
    def test_patterns(self) -> None:
        assert r("{{ d | date('yyyy-MM-dd HH:mm:ss.SSS') }}") == "2024-01-02 03:04:05.120"
        assert r("{{ d | date('EEE EEEE MMM MMMM d/M/yy') }}") == "Tue Tuesday Jan January 2/1/24"
        assert r("{{ d | date('hh:mm a') }} {{ d | date(\"'T'HH'h'\") }}") == "03:04 AM T03h"

    def test_default_format_is_kestra_iso(self) -> None:
        assert r("{{ d | date }}") == "2024-01-02T03:04:05.120000Z"

    def test_named_formats(self) -> None:
        assert r("{{ d | date('iso_sec') }}") == "2024-01-02T03:04:05Z"
        assert r("{{ d | date('sql') }}") == "2024-01-02 03:04:05.120000"
        assert r("{{ d | date('iso_local_date') }} {{ d | date('iso_date') }}") == "2024-01-02 2024-01-02Z"
        assert r("{{ d | date('iso_instant') }}") == "2024-01-02T03:04:05.12Z"
        assert r("{{ d | date('iso_zoned_date_time', timeZone='Europe/Paris') }}") == (
            "2024-01-02T04:04:05.12+01:00[Europe/Paris]"
        )
        assert r("{{ d | date('rfc_1123_date_time') }}") == "Tue, 2 Jan 2024 03:04:05 GMT"

    def test_time_zones_and_offsets(self) -> None:
        assert r("{{ d | date('HH:mm XXX', timeZone='America/New_York') }}") == "22:04 -05:00"
        assert r("{{ d | date('Z xx X', timeZone='Asia/Kolkata') }}") == "+0530 +0530 +0530"

    def test_inputs(self) -> None:
        assert r("{{ 1704164645 | date('iso_sec') }}") == "2024-01-02T03:04:05Z"
        assert r("{{ '2024-01-02' | date('iso_sec') }}") == "2024-01-02T00:00:00Z"
        assert r("{{ '2024-01-02T03:04:05' | date('HH', timeZone='Europe/Paris') }}") == "03"
        assert r("{{ '2024-01-02T03:04:05.123456789+02:00' | date('iso') }}") == "2024-01-02T01:04:05.123456Z"

    def test_existing_format(self) -> None:
        template = "{{ '02/01/2024 10:11' | date('yyyy-MM-dd HH:mm', existingFormat='dd/MM/yyyy HH:mm') }}"
        assert r(template) == "2024-01-02 10:11"
        template = "{{ '2 Jan 2024 1:05 PM +0100' | date('iso_sec', existingFormat='d MMM yyyy h:mm a Z') }}"
        assert r(template) == "2024-01-02T12:05:00Z"

    def test_invalid_date(self) -> None:
        with pytest.raises(ExpressionError):
            r("{{ 'yesterday' | date('yyyy') }}")


class TestDateAdd:
    def test_units(self) -> None:
        assert r("{{ d | dateAdd(2, 'HOURS', 'iso_sec') }}") == "2024-01-02T05:04:05Z"
        assert r("{{ d | dateAdd(-3, 'DAYS', format='yyyy-MM-dd') }}") == "2023-12-30"
        assert r("{{ d | dateAdd(1, 'WEEKS', format='yyyy-MM-dd') }}") == "2024-01-09"
        assert r("{{ d | dateAdd(30, 'SECONDS', format='HH:mm:ss') }}") == "03:04:35"
        assert r("{{ d | dateAdd(5, 'MINUTES', format='HH:mm') }}") == "03:09"
        assert r("{{ d | dateAdd(1, 'YEARS', format='yyyy') }}") == "2025"

    def test_months_clamp_to_month_end(self) -> None:
        assert r("{{ '2024-01-31' | dateAdd(1, 'MONTHS', format='yyyy-MM-dd') }}") == "2024-02-29"

    def test_days_follow_local_time_across_dst(self) -> None:
        # Like ZonedDateTime.plus: days move the local date of the value's own zone.
        template = "{{ d | dateAdd(1, 'DAYS', format='HH:mm XXX', timeZone='Europe/Paris') }}"
        assert r(template, d="2024-03-30T12:00:00+01:00[Europe/Paris]") == "12:00 +02:00"
        assert r(template, d="2024-03-30T12:00:00+01:00") == "13:00 +02:00"
        template = "{{ d | dateAdd(24, 'HOURS', format='HH:mm XXX', timeZone='Europe/Paris') }}"
        assert r(template, d="2024-03-30T12:00:00+01:00[Europe/Paris]") == "13:00 +02:00"

    def test_unknown_unit(self) -> None:
        with pytest.raises(ExpressionError, match="Unsupported unit"):
            r("{{ d | dateAdd(1, 'FORTNIGHTS') }}")


class TestTimestamps:
    def test_epochs(self) -> None:
        assert r("{{ d | timestamp }}") == "1704164645"
        assert r("{{ d | timestampMilli }}") == "1704164645120"
        assert r("{{ d | timestampMicro }}") == "1704164645120000"
        assert r("{{ d | timestampNano }}") == "1704164645120000000"
