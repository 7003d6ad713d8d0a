"""Page cursors of newest-first lists: what a page hands out comes back as the same position; anything else is a
clear 400, never a crash."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claimflow_kit.errors import InvalidInput
from claimflow_kit.identifiers import new_id
from claimflow_kit.repository import PageCursor


@given(st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True))
def test_a_cursor_comes_back_as_the_position_it_was_made_of(object_id: str) -> None:
    assert PageCursor.from_token(PageCursor(object_id).token()) == PageCursor(object_id)


def test_the_ids_the_services_make_are_cursors() -> None:
    object_id = new_id("clm")
    assert PageCursor.from_token(PageCursor(object_id).token()).id == object_id


@pytest.mark.parametrize(
    "raw",
    [
        b"",  # no id
        b"clm_1' OR '1'='1",  # not an id of ours
        b"x" * 65,  # longer than any id
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
    assert 1 <= len(cursor.id) <= 64
