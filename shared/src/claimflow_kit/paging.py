"""Newest-first lists a page at a time: the cursor a page ends with, and the Link header naming the next page."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Query, Request, Response

from claimflow_kit.errors import InvalidInput


@dataclass(frozen=True)
class PageCursor:
    """Where a page of a newest-first list ended: the id of its last object.

    Row ids are time-ordered (``new_id``: a UUID version 7, its millisecond first), so a list newest first is a list
    by id, read through an index on the tenant and the id. The next page starts below the cursor: pages neither
    skip nor repeat objects when new ones are added meanwhile, and page 1,000 costs what page 1 costs (an index
    range, not an OFFSET that reads and drops the rows before it). Ordering by a creation-time column instead needed
    an index led by (tenant, created_at), which SQLite, keeping no statistics, then preferred for every query ordered
    by creation time, reading all of a tenant's rows where an index on the lookup key had read a few.
    """

    id: str

    def token(self) -> str:
        """The cursor as an opaque URL-safe string for a client to send back."""
        return base64.urlsafe_b64encode(self.id.encode()).decode().rstrip("=")

    @classmethod
    def from_token(cls, token: str) -> PageCursor:
        """The cursor a ``token`` names; InvalidInput (400) for anything this API did not hand out."""
        try:
            object_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            object_id = ""
        if not _ID.fullmatch(object_id):
            raise InvalidInput("not a page cursor of this list: send back the one the previous page's Link named")
        return cls(object_id)


_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # ids as the services make them (new_id: a prefix and 32 hex digits)


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
