"""What the API reads and writes, described once for validation and for the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import marshmallow as ma
from flask import url_for
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate

from campaign.models import PlanStatus, ResultState, UnitKind
from campaign.numbers import MAX_COUNT, MAX_ID
from campaign.rates import CountingRule, Status, Target, Timeliness


class Text(fields.String):
    """A string the database can store: no NUL character, valid UTF-8."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ma.ValidationError(str(_l("Chuỗi ký tự không hợp lệ."))) from error
        if "\x00" in text:
            raise ma.ValidationError(str(_l("Chuỗi ký tự không hợp lệ.")))
        return text


class StrictBoolean(fields.Boolean):
    """``true`` or ``false`` as JSON writes them; not 1, "yes" or "on"."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class UtcDateTime(fields.DateTime):
    """Times are stored naive in UTC; the API says so (RFC 3339 wants an offset)."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any):
        if value is None:
            return None
        return value.replace(tzinfo=UTC).isoformat()


def count(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_COUNT), **kwargs)


def choice(values: type[StrEnum], **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.OneOf([v.value for v in values]), **kwargs)


# --- pagination ----------------------------------------------------------------


class PageArgs(ma.Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


def page_of(schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """``{"items", "total", "page", "per_page"}`` around ``schema``."""
    return ma.Schema.from_dict(
        {
            "items": fields.List(fields.Nested(schema), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
        },
        name=name,
    )


# --- units ---------------------------------------------------------------------


class UnitListArgs(PageArgs):
    parent = Text(metadata={"description": "Code of the parent unit: only its direct children"})
    official_code = Text(
        validate=validate.Length(max=16),
        metadata={
            "description": "The statistics office's code: the units that have it, past and "
            "present (codes are reused: compare valid_from and valid_to)"
        },
    )


def code_of(path: str) -> fields.Function:
    """The code of a related unit, e.g. ``parent``, or null."""

    def get(obj: Any) -> str | None:
        unit = getattr(obj, path)
        return unit.code if unit is not None else None

    return fields.Function(get, dump_only=True, metadata={"type": "string", "nullable": True})


class UnitIn(ma.Schema):
    code = Text(required=True, validate=validate.Length(min=1, max=32))
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    kind = choice(UnitKind, required=True)
    parent_code = Text(load_default=None, allow_none=True, validate=validate.Length(max=32))
    #: Unique among the units valid on a same day, not for ever: codes are reused.
    official_code = Text(load_default=None, allow_none=True, validate=validate.Length(max=16))
    valid_from = fields.Date(load_default=None, allow_none=True)
    valid_to = fields.Date(load_default=None, allow_none=True)
    contact_email = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=254),
        metadata={"description": "Where reminders to report go; null: none"},
    )


class UnitSchema(UnitIn):
    id = fields.Integer(dump_only=True)
    # Read as a code, written as the code of the related unit: the schema's own override.
    parent_code = code_of("parent")  # type: ignore[assignment]
    merged_into_code = code_of("merged_into")


# --- plans, drives, quotas -----------------------------------------------------


class PlanListArgs(PageArgs):
    year = fields.Integer(validate=validate.Range(min=1900, max=2200))


def percent(**kwargs: Any) -> fields.Integer:
    return fields.Integer(
        strict=True, allow_none=True, validate=validate.Range(min=1, max=100), **kwargs
    )


class TargetsSchema(ma.Schema):
    """A plan's targets beyond blood units: each a whole percentage, or null for none."""

    min_large_bag_percent = percent(
        load_default=None, metadata={"description": "Least share of 350 and 450 ml bags"}
    )
    min_repeat_percent = percent(
        load_default=None, metadata={"description": "Least share of repeat donors"}
    )
    min_participation_percent = percent(
        load_default=None, metadata={"description": "Least share of the headcount donating"}
    )


class PlanIn(ma.Schema):
    number = Text(
        required=True,
        validate=validate.Length(min=1, max=60),
        metadata={"example": "276/KH-BCĐTH"},
    )
    issued_on = fields.Date(required=True)
    issuer_code = Text(required=True, validate=validate.Length(min=1, max=32))
    title = Text(required=True, validate=validate.Length(min=1, max=500))
    year = fields.Integer(strict=True, required=True, validate=validate.Range(min=1900, max=2200))
    counting_rule = choice(CountingRule, load_default=CountingRule.BAG.value)
    parent_plan_id = fields.Integer(
        strict=True,
        attribute="parent_id",
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_ID),
    )
    status = choice(PlanStatus, load_default=PlanStatus.ACTIVE.value)
    targets = fields.Nested(TargetsSchema, load_default=dict)
    compare_with_plan_id = fields.Integer(
        strict=True,
        attribute="compare_with_id",
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={
            "description": "The earlier plan its figures are compared with (so với cùng "
            "kỳ). Left out: the same issuer's plan of the year before, when there is one; "
            "null: none"
        },
    )


def public_url(plan: Any) -> str | None:
    if plan.public_slug is None:
        return None
    return url_for("public.page", slug=plan.public_slug, _external=True)


class PlanSchema(PlanIn):
    id = fields.Integer(dump_only=True)
    issuer_code = code_of("issuer")  # type: ignore[assignment]  # as parent_code above
    note = fields.String(dump_only=True, allow_none=True)
    targets = fields.Nested(TargetsSchema, attribute="target_percents", dump_only=True)
    public = fields.Boolean(
        attribute="is_public",
        dump_only=True,
        metadata={"description": "Whether the plan's progress is published"},
    )
    public_url = fields.Function(
        public_url,
        dump_only=True,
        metadata={
            "type": "string",
            "nullable": True,
            "description": "The published page (anyone may open it; add .json for its "
            "figures), or null while the plan is not published",
        },
    )


class PlanPatch(ma.Schema):
    public = StrictBoolean(
        metadata={
            "description": "true publishes the plan's progress at a new random address; "
            "false stops publishing it (the address then answers 404)"
        },
    )
    targets = fields.Nested(
        TargetsSchema,
        metadata={"description": "The plan's targets, all three: one left out is no target"},
    )
    compare_with_plan_id = fields.Integer(
        strict=True,
        attribute="compare_with_id",
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "The earlier plan its figures are compared with; null: none"},
    )
    status = choice(
        PlanStatus,
        metadata={"description": "draft, active or closed; a closed plan only reopens"},
    )

    @ma.validates_schema
    def something_to_change(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError(
                str(_l("Ghi public, targets, compare_with_plan_id hoặc status."))
            )


class QuotaSchema(ma.Schema):
    unit_code = Text(required=True, validate=validate.Length(min=1, max=32))
    unit_name = fields.String(dump_only=True)
    quota = count(required=True)
    headcount = count(
        allow_none=True,
        metadata={
            "description": "Staff, students or members the unit counts (participation "
            "target); left out: unchanged, null: cleared"
        },
    )


class DriveSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    plan_id = fields.Integer(dump_only=True)
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    site = Text(load_default="", validate=validate.Length(max=300))
    report_due_on = fields.Date(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Last day a report is on time (Vietnam date); "
            "empty: the drive's last day + 3 days"
        },
    )


class DrivePatch(ma.Schema):
    """What a PATCH changes; a field left out keeps its value."""

    name = Text(validate=validate.Length(min=1, max=200))
    starts_on = fields.Date()
    ends_on = fields.Date()
    site = Text(validate=validate.Length(max=300))
    report_due_on = fields.Date(
        allow_none=True,
        metadata={
            "description": "Last day a report is on time (Vietnam date); null: the drive's "
            "last day + 3 days, and it moves with the drive"
        },
    )


# --- results -------------------------------------------------------------------


class ResultSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    drive_id = fields.Integer(dump_only=True)
    unit_code = code_of("unit")
    registered = count(load_default=0)
    deferred = count(load_default=0)
    bags_250 = count(load_default=0)
    bags_350 = count(load_default=0)
    bags_450 = count(load_default=0)
    repeat_donors = count(
        load_default=None,
        allow_none=True,
        metadata={"description": "Of the donors, those who had donated before; null: not counted"},
    )
    submit = fields.Boolean(load_only=True, load_default=False)
    state = fields.String(dump_only=True, validate=validate.OneOf([s.value for s in ResultState]))
    version = fields.Integer(dump_only=True)
    return_reason = fields.String(dump_only=True, allow_none=True)
    submitted_at = UtcDateTime(dump_only=True, allow_none=True)
    reviewed_at = UtcDateTime(dump_only=True, allow_none=True)


class IfMatchArgs(ma.Schema):
    if_match = Text(
        data_key="If-Match",
        metadata={"description": "The version the update was made from (required to update)"},
    )


class ReviewIfMatchArgs(ma.Schema):
    if_match = Text(
        data_key="If-Match",
        metadata={
            "description": "The version the reviewer read (its ETag). When sent, a report "
            "changed since is refused with 409 and the current version in the error's details"
        },
    )


class ReturnSchema(ma.Schema):
    reason = Text(required=True, validate=validate.Length(min=1, max=2000))


class UnitReportingSchema(ma.Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    state = fields.String(
        required=True,
        validate=validate.OneOf([t.value for t in Timeliness]),
        metadata={
            "description": "on_time, late, overdue (not submitted after the deadline), "
            "not_due (not submitted, deadline not passed)"
        },
    )
    submitted_at = UtcDateTime(
        required=True,
        allow_none=True,
        metadata={"description": "Latest submission of the report that counts; null: none"},
    )
    days_late = fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "Days after the deadline (of the submission when late, of "
            "today when overdue); null when on time or not due"
        },
    )


class ReportingSchema(ma.Schema):
    """Reports a drive expects from the caller's units: the quota holders (else the units
    directly below the issuer) and the units that reported anyway; days in Vietnam time."""

    expected = fields.Integer(required=True)
    received = fields.Integer(required=True)
    on_time = fields.Integer(required=True)
    late = fields.Integer(required=True)
    overdue = fields.Integer(required=True)
    units = fields.List(fields.Nested(UnitReportingSchema), required=True)


# --- summary -------------------------------------------------------------------


#: Units of a plan's summary in one answer, at most: a plan with more gives them a page at
#: a time, this many by default.
SUMMARY_PAGE = 1000


class SummaryArgs(ma.Schema):
    approved_only = fields.Boolean(load_default=False)
    page = fields.Integer(
        validate=validate.Range(min=1, max=1_000_000),
        metadata={"description": "One page of the units, in the summary's order (a national "
                  "plan has a hundred thousand); without it, every unit of a plan of 1000 "
                  "units at most, else the first page"},
    )  # fmt: skip
    per_page = fields.Integer(validate=validate.Range(min=1, max=SUMMARY_PAGE))


class TargetFiguresSchema(ma.Schema):
    """The shares a plan's targets judge, and the targets missed (of a unit or the totals)."""

    large_bag_percent = fields.Float(required=True, allow_none=True)
    repeat_percent = fields.Float(required=True, allow_none=True)
    participation_percent = fields.Float(required=True, allow_none=True)
    targets_missed = fields.List(
        fields.String(validate=validate.OneOf([t.value for t in Target])), required=True
    )


class TotalsSchema(TargetFiguresSchema):
    quota = fields.Integer(required=True)
    collected = fields.Float(required=True)
    rate_percent = fields.Float(required=True, allow_none=True)
    holders = fields.Integer(required=True)
    completed = fields.Integer(required=True)
    completed_percent = fields.Float(required=True, allow_none=True)
    over = fields.Integer(required=True)
    not_reported = fields.Integer(required=True)
    collected_outside = fields.Float(required=True)
    previous_collected = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "What the compared plan counted for the same quota holders "
            "(and the units merged into them); null with nothing to compare with"
        },
    )


class SummaryUnitSchema(TargetFiguresSchema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    quota = fields.Integer(required=True, allow_none=True)
    registered = fields.Integer(required=True)
    donors = fields.Integer(required=True)
    deferred = fields.Integer(required=True)
    collected = fields.Float(required=True)
    rate_percent = fields.Float(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in Status]))
    over_amount = fields.Float(required=True)
    headcount = fields.Integer(required=True, allow_none=True)
    previous_collected = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "What the compared plan counted for the unit and the units "
            "merged into it, each once; null when none of them was in that plan"
        },
    )
    change_percent = fields.Float(
        required=True,
        allow_none=True,
        metadata={
            "description": "collected against previous_collected, one decimal; "
            "null when that is null or 0"
        },
    )


class PublicSummarySchema(ma.Schema):
    """What a published plan's JSON gives: no headcounts, only approved results."""

    totals = fields.Nested(TotalsSchema(exclude=("previous_collected",)), required=True)
    units = fields.List(
        fields.Nested(
            SummaryUnitSchema(
                only=("code", "name", "kind", "quota", "collected", "rate_percent", "status")
            )
        ),
        required=True,
    )
    units_total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


class SummarySchema(ma.Schema):
    plan = fields.Nested(PlanSchema, required=True)
    counting_rule = fields.String(required=True)
    totals = fields.Nested(TotalsSchema, required=True)
    units = fields.List(fields.Nested(SummaryUnitSchema), required=True)
    units_total = fields.Integer(
        required=True, metadata={"description": "How many units the summary has in all"}
    )
    page = fields.Integer(
        metadata={"description": "Given when the units come a page at a time: asked for, "
                  "or a plan of more than 1000 units"}
    )  # fmt: skip
    per_page = fields.Integer()


class ProgressArgs(ma.Schema):
    unit = Text(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "Code of one unit: its progress instead of the plan's"},
    )


class MonthSchema(ma.Schema):
    month = fields.String(required=True, metadata={"example": "2026-03"})
    collected = fields.Float(required=True)
    cumulative = fields.Float(required=True)
    pace = fields.Float(required=True, metadata={"description": "quota × months elapsed / 12"})


class ProgressSchema(ma.Schema):
    quota = fields.Integer(required=True)
    months = fields.List(fields.Nested(MonthSchema), required=True)


UnitPage = page_of(UnitSchema, "UnitPage")
PlanPage = page_of(PlanSchema, "PlanPage")
QuotaPage = page_of(QuotaSchema, "QuotaPage")
DrivePage = page_of(DriveSchema, "DrivePage")
ResultPage = page_of(ResultSchema, "ResultPage")
