"""The leaders' summary workbook: an official report, every figure taken from ``rates``."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from campaign import rates
from campaign.formatting import long_date
from campaign.formatting import number as shown_number
from campaign.rates import Line, PlanSummary, Tally
from campaign.spreadsheets.cells import (
    INTEGER,
    PERCENT,
    UNITS,
    ReportSheet,
    Styles,
    cell,
    number,
    report_sheet,
    text_cell,
)

SUMMARY_HEADERS = (
    "STT",
    "Đơn vị",
    "Loại đơn vị",
    "Chỉ tiêu",
    "Đăng ký",
    "Hiến thành công",
    "Không đủ điều kiện",
    "Đơn vị máu",
    "Tỷ lệ hoàn thành",
    "Vượt chỉ tiêu",
    "Kết quả",
)
DRIVE_HEADERS = (
    "STT",
    "Đợt hiến máu",
    "Đơn vị",
    "Loại đơn vị",
    "Đăng ký",
    "Hiến thành công",
    "Không đủ điều kiện",
    "Túi 250 ml",
    "Túi 350 ml",
    "Túi 450 ml",
    "Đơn vị máu",
)
MONTH_HEADERS = (
    "Tháng",
    "Thu trong tháng",
    "Cộng dồn",
    "Tiến độ đều",
    "Cộng dồn so với chỉ tiêu năm",
)
#: A column per target the plan sets, before "Kết quả", and how the note under the table and
#: a missed target beside a status read.
TARGET_HEADERS = {
    "large_bag": "Tỷ lệ túi 350-450 ml",
    "repeat": "Tỷ lệ hiến nhắc lại",
    "participation": "Tỷ lệ quân số tham gia",
}
TARGET_NOTES = {
    "large_bag": "tỷ lệ túi 350 ml và 450 ml từ {}% số người hiến",
    "repeat": "tỷ lệ người hiến nhắc lại từ {}%",
    "participation": "tỷ lệ quân số tham gia hiến máu từ {}%",
}
TARGET_MISSED = {
    "large_bag": "chưa đạt tỷ lệ túi 350 ml",
    "repeat": "chưa đạt tỷ lệ hiến nhắc lại",
    "participation": "chưa đạt tỷ lệ tham gia",
}
#: Report sections, in order; each unit kind falls in one.
GROUPS = (
    ("Xã, phường, thị trấn", ("province", "district", "commune", "ward", "special_zone", "town")),
    ("Cơ quan, doanh nghiệp, lực lượng vũ trang", ("agency", "enterprise", "armed_forces")),
    ("Trường học", ("school",)),
    ("Công đoàn cơ sở", ("union",)),
    ("Đơn vị khác", ("other",)),
)
ROMAN = ("I", "II", "III", "IV", "V", "VI")
#: Rows above the table header on "Tổng hợp": the official header, title, citation and
#: recipient.
TITLE_ROWS = 9
#: Room for the number written by hand once the report is registered.
NUMBER_BLANK = " " * 8


@dataclass(frozen=True)
class ReportInfo:
    """What the report says about itself and the plan it reports on."""

    #: The steering committee issuing the report, e.g. "BCĐ vận động HMTN huyện Quảng Xương".
    issuer: str
    #: Place in the date line, e.g. "Quảng Xương".
    place: str
    day: date
    plan_number: str
    plan_issued_on: date
    plan_issuer: str
    plan_title: str
    rule_label: str
    #: The plan's targets beyond blood units: a column each, and a note under the table.
    targets: rates.Targets = rates.NO_TARGETS
    #: The year of the plan compared with ("cùng kỳ"), which adds two columns; or none.
    compared_year: int | None = None
    compared: rates.Comparison = rates.NO_COMPARISON
    #: The body the issuer answers to, above it in the header, e.g. "UBND huyện Quảng Xương".
    parent_body: str = ""
    #: The issuer's symbol after "BC-" in the report's number, e.g. "BCĐTH" (may be empty).
    symbol: str = ""
    #: Whom the report is sent to ("Kính gửi"); empty leaves dots to fill in.
    recipient: str = ""

    @property
    def number_line(self) -> str:
        """ "Số:      /BC-BCĐTH": the number is given when the report is registered."""
        return f"Số:{NUMBER_BLANK}/BC-{self.symbol}" if self.symbol else f"Số:{NUMBER_BLANK}/BC"

    @property
    def headers(self) -> tuple[str, ...]:
        added = tuple(TARGET_HEADERS[t] for t in self.targets.set())
        return (*SUMMARY_HEADERS[:-1], *self.compared_headers, *added, SUMMARY_HEADERS[-1])

    @property
    def compared_headers(self) -> tuple[str, ...]:
        if self.compared_year is None:
            return ()
        return (f"Cùng kỳ {self.compared_year}", "So với cùng kỳ")

    def compared_cells(self, collected: Fraction | None, previous: Fraction | None) -> list[Any]:
        """The previous figure and the change, where the report compares."""
        if self.compared_year is None:
            return []
        change = rates.display_change(rates.change(collected, previous))
        return [None if previous is None else number(previous), _fraction(change)]


@dataclass(frozen=True)
class DriveLine:
    """One unit's counted results in one drive."""

    drive: str
    unit: str
    kind: str
    tally: Tally
    collected: Fraction


def summary_sentence(totals: rates.Totals) -> str:
    """ "38/40 đơn vị (95,0%) hoàn thành chỉ tiêu; 12 đơn vị vượt chỉ tiêu"."""
    share = rates.display_percent(totals.completed_share)
    percent = f" ({shown_number(share)}%)" if share is not None else ""
    return (
        f"{totals.completed}/{totals.holders} đơn vị{percent} hoàn thành chỉ tiêu; "
        f"{totals.over} đơn vị vượt chỉ tiêu"
    )


def grouped(lines: Iterable[Line]) -> list[tuple[str, list[Line]]]:
    by_kind = {kind: title for title, kinds in GROUPS for kind in kinds}
    groups: dict[str, list[Line]] = {title: [] for title, _ in GROUPS}
    for line in lines:
        groups[by_kind.get(line.unit.kind, GROUPS[-1][0])].append(line)
    return [(title, members) for title, members in groups.items() if members]


def summary_workbook(
    info: ReportInfo,
    summary: PlanSummary,
    drive_lines: Sequence[DriveLine],
    kinds: Mapping[str, str],
    statuses: Mapping[str, str],
    months: Sequence[rates.MonthPoint] = (),
    year: int | None = None,
) -> bytes:
    """The workbook as bytes: sheets "Tổng hợp", "Theo đợt", "Theo tháng" and "Biểu đồ"."""
    wb = Workbook(write_only=True)
    styles = Styles(wb)
    _summary_sheet(report_sheet(wb, "Tổng hợp"), styles, info, summary, kinds, statuses)
    _drive_sheet(report_sheet(wb, "Theo đợt"), styles, info, drive_lines, kinds, summary.rule)
    _month_sheet(report_sheet(wb, "Theo tháng"), styles, info, months, summary.totals.quota, year)
    _chart_sheet(report_sheet(wb, "Biểu đồ"), styles, summary)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _print_setup(ws: WriteOnlyWorksheet, header_row: int | None, widths: Sequence[float]) -> None:
    """A4 landscape, fitted to the page width, the header row repeated on every page; with
    no ``header_row``, one page."""
    for index, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0 if header_row is not None else 1
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if header_row is not None:
        ws.print_title_rows = f"{header_row}:{header_row}"
        ws.freeze_panes = f"C{header_row + 1}"


def _widths(headers: Sequence[str], rows: Iterable[Sequence[Any]], cap: int = 60) -> list[float]:
    """Column widths fitted to the longest value (numbers as shown, with grouping)."""
    longest = [0] * len(headers)
    largest: list[float] = [0] * len(headers)
    for row in rows:
        for index, value in enumerate(row):
            if isinstance(value, str):
                longest[index] = max(longest[index], len(value))
            elif value is not None:
                largest[index] = max(largest[index], abs(value))
    return [
        max(len(header) * 0.9, min(text, cap), len(f"{big:,.1f}") + 1 if big else 0) + 3
        for header, text, big in zip(headers, longest, largest, strict=True)
    ]


class _Formats:
    """A row's styles by column, and the same with whole blood units written as whole
    numbers: under the per-bag rule every figure is whole and reads "50", not "50,0"; under
    the 250 ml rule a whole figure reads as the screens show it ("14", beside "14,4")."""

    def __init__(self, styles: Styles, formats: Sequence[str | None], **style: Any) -> None:
        self.styles = [styles.get(number_format=f, **style) for f in formats]
        whole = [INTEGER if f == UNITS else f for f in formats]
        self.whole = [styles.get(number_format=f, **style) for f in whole]

    def with_column(self, index: int, style: StyleArray) -> _Formats:
        changed = copy(self)
        changed.styles = [*self.styles[:index], style, *self.styles[index + 1 :]]
        changed.whole = [*self.whole[:index], style, *self.whole[index + 1 :]]
        return changed

    def of(self, values: Sequence[Any]) -> list[StyleArray]:
        return [
            whole if isinstance(value, int) else style
            for value, style, whole in zip(values, self.styles, self.whole, strict=False)
        ]


def _official_header(
    ws: WriteOnlyWorksheet, styles: Styles, info: ReportInfo, columns: int
) -> None:
    bold_center = styles.get(bold=True, align="center", wrap=True)
    center_italic = styles.get(italic=True, align="center")
    left = 3  # the issuing body spans A:C, the national motto the rest
    center = styles.get(align="center", wrap=True)
    rows: list[list[Any]] = [
        # Decree 30: the body above in capitals, the issuing body in bold capitals under it.
        [text_cell(ws, info.parent_body.upper(), styles, align="center", wrap=True)]
        + [None] * (left - 1)
        + [cell(ws, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", bold_center)],
        [text_cell(ws, info.issuer.upper(), styles, bold=True, align="center", wrap=True)]
        + [None] * (left - 1)
        + [cell(ws, "Độc lập - Tự do - Hạnh phúc", bold_center)],
        [cell(ws, info.number_line, center)]
        + [None] * (left - 1)
        + [cell(ws, long_date(info.day, info.place), center_italic)],
        [],
        [
            cell(
                ws,
                "BÁO CÁO KẾT QUẢ HIẾN MÁU TÌNH NGUYỆN",
                styles.get(bold=True, size=14, align="center"),
            )
        ],
        [
            text_cell(
                ws,
                f"Thực hiện Kế hoạch số {info.plan_number} ngày "
                f"{info.plan_issued_on:%d/%m/%Y} của {info.plan_issuer} về {info.plan_title}",
                styles,
                italic=True,
                align="center",
                wrap=True,
            )
        ],
        [cell(ws, f"Đơn vị máu tính: {info.rule_label}", center_italic)],
        [
            text_cell(
                ws, f"Kính gửi: {info.recipient or '.' * 40}", styles, align="center", wrap=True
            )
        ],
        [],
    ]
    for header_row in rows:
        ws.append(header_row)
    last = get_column_letter(columns)
    for row in (1, 2, 3):
        ws.merged_cells.add(f"A{row}:C{row}")
        ws.merged_cells.add(f"D{row}:{last}{row}")
    for row in (5, 6, 7, 8):
        ws.merged_cells.add(f"A{row}:{last}{row}")
    ws.row_dimensions[1].height = 32  # a long parent body wraps
    ws.row_dimensions[6].height = 36


def _summary_row(
    line: Line,
    index: int | None,
    kinds: Mapping[str, str],
    statuses: Mapping[str, str],
    info: ReportInfo,
) -> list[Any]:
    targets = info.targets
    status = statuses[line.status.value]
    missed = line.shares.missed(targets) if line.is_holder and targets.set() else []
    if missed:
        status = "; ".join([status, *(TARGET_MISSED[t] for t in missed)])
    return [
        index,
        line.unit.name,
        kinds.get(line.unit.kind, line.unit.kind),
        line.quota if line.is_holder else None,
        line.tally.registered,
        line.tally.donors,
        line.tally.deferred,
        number(line.collected),
        _fraction(rates.display_percent(line.rate)),
        number(line.over_amount) if line.over_amount else None,
        *info.compared_cells(line.collected, info.compared.of(line.unit.id)),
        *_shares(line.shares, targets),
        status,
    ]


def _shares(shares: rates.Shares, targets: rates.Targets) -> list[float | None]:
    """The set targets' shares, as the screens show them (never reaching a missed target)."""
    return [_fraction(rates.display_share(shares.of(t), targets.of(t))) for t in targets.set()]


def _totals_row(
    label: str,
    totals: rates.Totals,
    info: ReportInfo,
    compared: tuple[Fraction | None, Fraction | None] = (None, None),
) -> list[Any]:
    """``compared``: (collected now, previous) of the lines that have a previous figure."""
    targets = info.targets
    return [
        None,
        label,
        None,
        totals.quota,
        totals.tally.registered,
        totals.tally.donors,
        totals.tally.deferred,
        number(totals.collected),
        _fraction(totals.rate_percent),
        number(rates.over_amount(totals.collected, totals.quota)) or None,
        *info.compared_cells(*compared),
        *_shares(totals.shares, targets),
        f"{totals.completed}/{totals.holders} hoàn thành",
    ]


def _fraction(percent: Any) -> float | None:
    """A percentage as rates shows it (99,9 never reads 100,0) stored as a fraction of 1."""
    return None if percent is None else float(percent) / 100


def _summary_sheet(
    ws: ReportSheet,
    styles: Styles,
    info: ReportInfo,
    summary: PlanSummary,
    kinds: Mapping[str, str],
    statuses: Mapping[str, str],
) -> None:
    targets, headers = info.targets, info.headers
    body: list[tuple[int | None, list[Any]]] = []  # (depth of a unit line, values)
    counter = 0
    for position, (title, members) in enumerate(grouped(summary.lines)):
        body.append((None, [ROMAN[position], title]))
        for line in members:
            counter += 1
            body.append((line.depth, _summary_row(line, counter, kinds, statuses, info)))
        subtotal = rates.totals(members, summary.rule)
        compared = info.compared.totals_of(members)
        body.append((None, _totals_row(f"Cộng {title.lower()}", subtotal, info, compared)))
    compared = (info.compared.total_now, info.compared.total)
    total = _totals_row("TỔNG CỘNG", summary.totals, info, compared)
    body.append((None, total))
    if summary.outside:
        outside = summary.tally_outside
        body.append(
            (
                None,
                [
                    None,
                    "Đơn vị báo cáo ngoài các đơn vị được giao chỉ tiêu",
                    None,
                    None,
                    outside.registered,
                    outside.donors,
                    outside.deferred,
                    number(summary.collected_outside),
                ],
            )
        )
    header_row = TITLE_ROWS + 1
    _print_setup(ws, header_row, _widths(headers, (v for _, v in body)))
    _official_header(ws, styles, info, len(headers))
    ws.append(
        [cell(ws, h, styles.get(bold=True, align="center", wrap=True, grid=True)) for h in headers]
    )
    formats = (
        *(None, None, None, INTEGER, INTEGER, INTEGER, INTEGER, UNITS, PERCENT, UNITS),
        *((UNITS, PERCENT) if info.compared_year is not None else ()),
        *(PERCENT for _ in targets.set()),
        None,
    )
    plain = _Formats(styles, formats, grid=True)
    strong = _Formats(styles, formats, grid=True, bold=True)
    # The tree shows as an indent, so a unit's name stays exactly as stored.
    by_depth = [plain.with_column(1, styles.get(grid=True, indent=depth)) for depth in range(4)]
    for depth, values in body:
        ws.append_styled(values, (strong if depth is None else by_depth[min(depth, 3)]).of(values))
    for row in _closing(summary, info):
        ws.append([None, *(cell(ws, v, styles.get(**s)) for v, s in row)])


def _closing(summary: PlanSummary, info: ReportInfo) -> list[list[tuple[str, dict[str, Any]]]]:
    """The summary sentence and the signature block."""
    set_targets = info.targets.set()
    note = (
        "Chỉ tiêu khác của kế hoạch: "
        + "; ".join(TARGET_NOTES[t].format(info.targets.of(t)) for t in set_targets)
        + ". Đơn vị chưa đạt được ghi ở cột Kết quả; việc hoàn thành chỉ tiêu đơn vị máu "
        "không đổi."
    )
    return [
        [(note, {"italic": True, "size": 11})] if set_targets else [],
        [(summary_sentence(summary.totals) + ".", {"bold": True})],
        [],
        [("Nơi nhận:", {"bold": True, "italic": True})]
        + [("", {})] * 6
        + [("TM. BAN CHỈ ĐẠO", {"bold": True, "align": "center"})],
        [("- Như trên;", {"size": 11})]
        + [("", {})] * 6
        + [("TRƯỞNG BAN", {"bold": True, "align": "center"})],
        [("- Lưu: VT.", {"size": 11})]
        + [("", {})] * 6
        + [("(Ký, ghi rõ họ tên, đóng dấu)", {"italic": True, "align": "center"})],
    ]


def _drive_sheet(
    ws: ReportSheet,
    styles: Styles,
    info: ReportInfo,
    drive_lines: Sequence[DriveLine],
    kinds: Mapping[str, str],
    rule: rates.CountingRule,
) -> None:
    rows = [
        [
            index,
            line.drive,
            line.unit,
            kinds.get(line.kind, line.kind),
            line.tally.registered,
            line.tally.donors,
            line.tally.deferred,
            line.tally.bags.ml250,
            line.tally.bags.ml350,
            line.tally.bags.ml450,
            number(line.collected),
        ]
        for index, line in enumerate(drive_lines, 1)
    ]
    total = sum((line.tally for line in drive_lines), rates.EMPTY)
    rows.append(
        [
            None,
            "TỔNG CỘNG",
            None,
            None,
            total.registered,
            total.donors,
            total.deferred,
            total.bags.ml250,
            total.bags.ml350,
            total.bags.ml450,
            number(total.collected(rule)),
        ]
    )
    header_row = 3
    _print_setup(ws, header_row, _widths(DRIVE_HEADERS, rows))
    ws.append(
        [
            cell(
                ws,
                f"KẾT QUẢ THEO ĐỢT HIẾN MÁU - KẾ HOẠCH SỐ {info.plan_number}",
                styles.get(bold=True, size=13),
            )
        ]
    )
    ws.append([])
    ws.append(
        [
            cell(ws, h, styles.get(bold=True, align="center", wrap=True, grid=True))
            for h in DRIVE_HEADERS
        ]
    )
    formats = (None, None, None, None, *([INTEGER] * 6), UNITS)
    plain = _Formats(styles, formats, grid=True)
    strong = _Formats(styles, formats, grid=True, bold=True)
    for index, values in enumerate(rows):
        ws.append_styled(values, (strong if index == len(rows) - 1 else plain).of(values))


def _month_sheet(
    ws: ReportSheet,
    styles: Styles,
    info: ReportInfo,
    months: Sequence[rates.MonthPoint],
    quota: int,
    year: int | None,
) -> None:
    """The plan's year month by month: collected, cumulated, the even pace, and the share
    of the year's quota reached ("đạt 122,2% kế hoạch năm")."""
    rows = [
        [
            f"{point.month:02d}/{year}",
            number(point.collected),
            number(point.cumulative),
            number(point.pace),
            _fraction(rates.display_percent(rates.completion_rate(point.cumulative, quota))),
        ]
        for point in months
    ]
    header_row = 3
    _print_setup(ws, header_row, _widths(MONTH_HEADERS, rows))
    title = f"TIẾN ĐỘ THEO THÁNG - KẾ HOẠCH SỐ {info.plan_number} (CHỈ TIÊU NĂM: {quota})"
    ws.append([cell(ws, title, styles.get(bold=True, size=13))])
    ws.append([])
    ws.append(
        [
            cell(ws, h, styles.get(bold=True, align="center", wrap=True, grid=True))
            for h in MONTH_HEADERS
        ]
    )
    formats = (None, UNITS, UNITS, UNITS, PERCENT)
    plain = _Formats(styles, formats, grid=True)
    for values in rows:
        ws.append_styled(values, plain.of(values))
    if not rows:
        ws.append([cell(ws, "Năm của kế hoạch chưa bắt đầu.", styles.get(italic=True))])


def _chart_sheet(ws: ReportSheet, styles: Styles, summary: PlanSummary) -> None:
    """Completion by unit as a native bar chart, drawn from a two-column table beside it of
    the quota holders alone, in the summary's order: the summary table's own columns would
    bring its group headings, subtotals and grand total in as if they were units. One A4
    landscape page."""
    holders = [line for _, members in grouped(summary.lines) for line in members if line.is_holder]
    headers = ("Đơn vị", "Tỷ lệ hoàn thành")
    _print_setup(ws, None, _widths(headers, ([line.unit.name, None] for line in holders), cap=45))
    bold = styles.get(bold=True, align="center", wrap=True, grid=True)
    ws.append([cell(ws, h, bold) for h in headers])
    name_style, rate_style = styles.get(grid=True), styles.get(number_format=PERCENT, grid=True)
    for line in holders:
        ws.append_styled(
            [line.unit.name, _fraction(rates.display_percent(line.rate))],
            [name_style, rate_style],
        )
    if not holders:
        return
    chart = BarChart()
    chart.type = "bar"
    chart.title = "Tỷ lệ hoàn thành chỉ tiêu theo đơn vị"
    chart.y_axis.numFmt = PERCENT
    chart.y_axis.title = "Tỷ lệ hoàn thành"
    chart.legend = None
    last = len(holders) + 1
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last))
    # The first unit at the top, as in the table beside it.
    chart.x_axis.scaling.orientation = "maxMin"
    chart.height = max(8, min(0.5 * len(holders), 200))
    chart.width = 24
    ws.add_chart(chart, "D2")
