"""One page of a long list, in two queries: the count and the rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from eventapp.extensions import db


@dataclass
class Page:
    """One page of a list, and what the page links need."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(stmt: Select[Any], page: int, per_page: int, *, rows: bool = False) -> Page:
    """Return one page of a select (entities, or whole rows with `rows`), in two queries."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    result = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    items = list(result.all() if rows else result.scalars().all())
    return Page(items, page, per_page, total)
