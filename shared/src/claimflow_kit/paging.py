"""Newest-first lists a page at a time: the cursor a page ends with, and the Link header naming the next page."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query, Request, Response

from claimflow_kit.errors import InvalidInput


@dataclass(frozen=True)
class PageCursor:
    """Where a page of a newest-first list ended: the last object's creation time and id (ties broken by id).

    The next page starts below it, so pages neither skip nor repeat objects when new ones are added meanwhile, and
    reading page 1,000 costs what page 1 costs (an index range, not an OFFSET that reads and drops the rows before).
    """

    created_at: datetime
    id: str

    def token(self) -> str:
        """The cursor as an opaque URL-safe string for a client to send back."""
        return base64.urlsafe_b64encode(f"{self.created_at.isoformat()}|{self.id}".encode()).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> PageCursor:
        """The cursor a ``token`` names; InvalidInput (400) for anything this API did not hand out."""
        try:
            created_at, _, object_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().partition("|")
            moment = datetime.fromisoformat(created_at)
            if moment.tzinfo is None or not object_id:
                raise ValueError(token)
            return cls(moment.astimezone(UTC), object_id)
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
            raise InvalidInput(
                "not a page cursor of this list: send back the one the previous page's Link named"
            ) from None


AfterQuery = Annotated[
    str | None, Query(max_length=200, description="The next page's cursor, as the previous page's Link names it.")
]
"""The ``after`` query parameter of a paged list."""


def page_cursor(after: str | None) -> PageCursor | None:
    """The cursor of a list request's ``after`` query parameter (None: the first page)."""
    return None if after is None else PageCursor.from_token(after)


def link_next_page(request: Request, response: Response, following: PageCursor | None) -> None:
    """Name the next page in the response's ``Link`` header (RFC 8288, ``rel="next"``): the request's own URL with
    ``after`` set to the cursor. The last page names none."""
    if following is not None:
        response.headers["Link"] = f'<{request.url.include_query_params(after=following.token())}>; rel="next"'
