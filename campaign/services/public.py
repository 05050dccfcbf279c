"""What a published plan shows to everyone, and the short memory that spares the database.

A poster's QR code may be scanned by a thousand phones in a minute: the first request reads
the plan (the dashboard's few queries) and the next ones, for ``PUBLIC_PAGE_CACHE_SECONDS``,
are served from this process's memory without a query. Unpublishing forgets the page here
at once; another worker process forgets it when its copy expires.

Only approved results count here: submitted ones have not been checked yet.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from campaign.extensions import db
from campaign.models import Drive, Plan, Result, ResultState
from campaign.rates import NO_TARGETS, Line, PlanSummary, Targets
from campaign.services.dashboard import Filters, dashboard
from campaign.services.summary import figures, plan_and_descendants
from campaign.text import fold

EXTENSION = "public_pages"
#: Units the JSON gives at once, by default and at most: a national plan has a hundred
#: thousand, and anyone may ask for them, as often as the limit per address allows.
JSON_PAGE_SIZE = 1000


@dataclass(frozen=True)
class PublicPlan:
    """Plain values only, no database object: it outlives the request that read it."""

    slug: str
    number: str
    issued_on: date
    title: str
    issuer: str
    counting_rule: str
    summary: PlanSummary
    #: Quota holders for the chart, lowest rate first (the dashboard's order).
    chart: list[Line]
    #: When the latest approval counted here was made (UTC), or ``None`` before any.
    updated_at: datetime | None
    #: The plan's targets beyond blood units, which its figures are judged against.
    targets: Targets = NO_TARGETS

    def figures(self, page: int = 1, per_page: int = JSON_PAGE_SIZE) -> dict[str, Any]:
        """The API summary's totals and one page of its units (``PublicSummarySchema``
        keeps what is shown), with how many units there are in all."""
        page = min(page, pages_of(len(self.summary.lines), per_page))
        made = figures(self.summary, self.targets, page=page, per_page=per_page)
        return {**made, "page": page, "per_page": per_page}

    def listing(self, q: str, page: int, per_page: int) -> Listing:
        """One page of the lines whose unit's name or code holds ``q`` (accents and case
        aside), in the summary's order."""
        lines = self.summary.lines
        if fold(q):
            lines = list(filter(Filters(q=q).keep, lines))
        pages = pages_of(len(lines), per_page)
        page = min(page, pages)
        shown = lines[(page - 1) * per_page : page * per_page]
        return Listing(shown, q, page, pages, len(lines), per_page)


@dataclass(frozen=True)
class Listing:
    """A page of a published plan's lines, as its page lists them."""

    lines: list[Line]
    q: str
    page: int
    pages: int
    #: Lines matching ``q`` in all.
    matched: int
    per_page: int

    @property
    def paged(self) -> bool:
        return self.pages > 1


def pages_of(count: int, per_page: int) -> int:
    return max(1, -(-count // per_page))


class PageCache:
    """Published pages by slug for ``seconds``; at most ``size`` of them, the oldest
    dropped first. Shared by the threads of one process.

    A slug forgotten (its plan unpublished) is never kept again: no plan gets it back, and
    a request that read the plan just before the unpublishing was committed must not put
    the page back for another ``seconds``."""

    def __init__(self, seconds: float, size: int = 256) -> None:
        self.seconds, self.size = seconds, size
        self._pages: OrderedDict[str, tuple[float, PublicPlan]] = OrderedDict()
        #: Forgotten slugs, until when they are refused (long past any request in flight).
        self._retired: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, slug: str) -> PublicPlan | None:
        with self._lock:
            kept = self._pages.get(slug)
            if kept is None:
                return None
            if kept[0] <= time.monotonic():
                del self._pages[slug]
                return None
            return kept[1]

    def put(self, page: PublicPlan) -> None:
        if self.seconds <= 0:
            return
        with self._lock:
            if page.slug in self._retired:
                return
            self._pages[page.slug] = (time.monotonic() + self.seconds, page)
            self._pages.move_to_end(page.slug)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)

    def forget(self, slug: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._pages.pop(slug, None)
            self._retired = {s: until for s, until in self._retired.items() if until > now}
            self._retired[slug] = now + max(10 * self.seconds, 600)


def init_app(app: Any) -> None:
    app.extensions[EXTENSION] = PageCache(app.config["PUBLIC_PAGE_CACHE_SECONDS"])


def _cache() -> PageCache:
    return current_app.extensions[EXTENSION]


def published(slug: str) -> PublicPlan | None:
    """The published plan at ``slug``, or ``None`` when no plan is published there."""
    page = _cache().get(slug)
    if page is not None:
        return page
    plan = db.session.scalar(
        select(Plan).where(Plan.public_slug == slug).options(joinedload(Plan.issuer))
    )
    if plan is None:
        return None
    page = _read(plan, slug)
    _cache().put(page)
    return page


def forget(slug: str | None) -> None:
    """Drops the page kept for ``slug``: its address answers 404 from the next request."""
    if slug is not None:
        _cache().forget(slug)


def _read(plan: Plan, slug: str) -> PublicPlan:
    board = dashboard(plan, Filters(), approved_only=True)
    return PublicPlan(
        slug=slug,
        number=plan.number,
        issued_on=plan.issued_on,
        title=plan.title,
        issuer=plan.issuer.name,
        counting_rule=plan.counting_rule,
        summary=board.summary,
        chart=board.chart,
        updated_at=last_approval(plan.id),
        targets=plan.targets,
    )


def last_approval(plan_id: int) -> datetime | None:
    """The latest approval among the approved results of the plan's drives (and of the
    plans below it): the moment the published figures last changed."""
    return db.session.scalar(
        select(func.max(Result.reviewed_at))
        .join(Drive, Drive.id == Result.drive_id)
        .where(
            Drive.plan_id.in_(plan_and_descendants(plan_id)),
            Result.state == ResultState.APPROVED.value,
        )
    )
