"""A published plan's progress, as a page and as JSON, for anyone, without signing in.

These views never touch ``current_user`` or the session (see ``campaign.public``).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, jsonify, request
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from campaign.api.schemas import PublicSummarySchema
from campaign.extensions import limiter
from campaign.public import BLUEPRINT, PREFIX, render
from campaign.services import public
from campaign.services.dashboard import page_number
from campaign.services.public import JSON_PAGE_SIZE, PublicPlan

bp = Blueprint(BLUEPRINT, __name__, url_prefix=PREFIX.rstrip("/"))

#: Page and JSON count together, per address.
throttle = limiter.shared_limit(
    lambda: current_app.config["PUBLIC_PAGE_LIMIT"],
    scope="public-page",
    key_func=get_remote_address,
)


def _published(slug: str) -> PublicPlan:
    page = public.published(slug)
    if page is None:
        abort(404)
    return page


def _shared(response: Response) -> Response:
    """Everyone gets the same answer: browsers and proxies may keep it a minute."""
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/<slug:slug>")
@throttle
def page(slug: str) -> Response:
    """The plan's figures from approved reports; ``?nhung=1`` drops the header and the
    footer, for an iframe on another site."""
    shown = _published(slug)
    embed = request.args.get("nhung") == "1"
    listing = shown.listing(
        request.args.get("q", "")[:100],
        page_number(request.args.get("trang", "")),
        current_app.config["DASHBOARD_PAGE_SIZE"],
    )
    html = render("public/plan.html", page=shown, listing=listing, embed=embed)
    return _shared(current_app.make_response(html))


@bp.get("/<slug:slug>.json")
@throttle
def data(slug: str) -> Response:
    """The same figures in the API summary's shape (``totals`` and ``units``): ``page``
    (from 1) and ``per_page`` (1000 at most, and by default) choose the units given;
    ``units_total`` says how many there are. Anything else than a number is the first
    page, or 1000 units: like the page's, these are links."""
    shown = _published(slug)
    asked = request.args.get("per_page", "")
    per_page = JSON_PAGE_SIZE
    if asked.isascii() and asked.isdigit():
        per_page = min(page_number(asked), JSON_PAGE_SIZE)
    figures = shown.figures(page_number(request.args.get("page", "")), per_page)
    response = jsonify(PublicSummarySchema().dump(figures))
    # Public figures, read without credentials: any site's script may fetch them.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return _shared(response)
