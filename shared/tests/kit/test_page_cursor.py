"""Page cursors of newest-first lists: what a page hands out comes back as the same position; anything else is a
clear 400, never a crash."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claimflow_kit.errors import InvalidInput
from claimflow_kit.paging import PageCursor


@given(
    moment=st.datetimes(timezones=st.just(UTC)),
    object_id=st.text(st.characters(codec="utf-8"), min_size=1, max_size=60),
)
def test_a_cursor_comes_back_as_the_position_it_was_made_of(moment: datetime, object_id: str) -> None:
    assert PageCursor.from_token(PageCursor(moment, object_id).token()) == PageCursor(moment, object_id)


def test_a_cursor_made_in_another_zone_is_the_same_instant_in_utc() -> None:
    local = datetime(2026, 11, 2, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    cursor = PageCursor.from_token(PageCursor(local, "clm_1").token())
    assert cursor.created_at == datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
    assert cursor.created_at.tzinfo is UTC


@pytest.mark.parametrize(
    "raw",
    [
        b"2026-11-02T09:00:00|clm_1",  # no zone: which instant is meant is unknown
        b"2026-11-02T09:00:00+00:00|",  # no id
        b"yesterday|clm_1",
        b"0001-01-01T00:00:00+01:00|clm_1",  # before the first instant UTC can name
        b"\xff\xfe",
    ],
)
def test_a_token_this_api_did_not_hand_out_is_invalid_input(raw: bytes) -> None:
    with pytest.raises(InvalidInput, match="page cursor"):
        PageCursor.from_token(base64.urlsafe_b64encode(raw).decode())


@given(st.text(max_size=200))
def test_any_string_is_a_cursor_or_invalid_input(token: str) -> None:
    try:
        cursor = PageCursor.from_token(token)
    except InvalidInput:
        return
    assert cursor.created_at.tzinfo is UTC
    assert cursor.id
