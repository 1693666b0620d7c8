"""Pages of the dashboard's long lists (accounts, domains, mailboxes): a bounded `page` query parameter and
the links around it.

`page` is 0-based in the URL, as in the API. It is bounded so that no number a person can type reaches the
database as an offset it cannot hold (an unbounded one made SQLite overflow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query

MAX_PAGE = 1_000_000
PageNumber = Annotated[int, Query(ge=0, le=MAX_PAGE)]


@dataclass(frozen=True)
class Pager:
    page: int  # 0-based
    pages: int  # at least 1, so an empty list reads "page 1 of 1"
    total: int
    previous: str | None
    next: str | None


def pager(path: str, query: dict[str, str], page: int, total: int, size: int) -> Pager:
    """The links of page `page` of `total` items, `size` a page; `query` is kept in them (empty values dropped)."""
    pages = max(math.ceil(total / size), 1)
    kept = {k: v for k, v in query.items() if v}

    def url(number: int) -> str:
        return f"{path}?{urlencode({**kept, 'page': number})}"

    # Past the end, "previous" leads back to the last page rather than to another empty one.
    previous = url(min(page - 1, pages - 1)) if page > 0 else None
    return Pager(page, pages, total, previous, url(page + 1) if page + 1 < pages else None)
