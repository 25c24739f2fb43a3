"""Pages of a long list on the dashboard: the offset a link asks for, and the links to the first,
previous and next pages (each keeping the list's other filters)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request

from ..dashboard import Page


def offset_of(text: str | None) -> int:
    """The offset a link asks for (`?offset=N`); 0 for anything but a plain, modest number."""
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 9 else 0


def links(request: Request, page: Page) -> dict[str, str | None]:
    """Links to the first, previous and next pages (None where there is none)."""

    def link(offset: int) -> str:
        query = {k: v for k, v in request.query_params.items() if k != "offset"}
        return f"{request.url.path}?{urlencode({**query, 'offset': offset})}"

    last = max(0, (page.total - 1) // page.limit * page.limit)  # where the last page starts
    previous = link(min(max(0, page.offset - page.limit), last)) if page.offset > 0 else None
    following = page.offset + page.limit
    return {"first": link(0), "previous": previous,
            "next": link(following) if following < page.total else None}  # fmt: skip
