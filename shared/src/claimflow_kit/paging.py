"""Newest-first lists over HTTP a page at a time: the ``after`` parameter, and the Link header naming the next page
(the cursor itself, and reading a page, are the repositories': ``claimflow_kit.repository``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from claimflow_kit.repository import PageCursor

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
