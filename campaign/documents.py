"""Document numbers in the form of Decree 30/2020/NĐ-CP: "276/KH-BCĐTH", "78/BCĐTH"."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import gettext as _

#: Type codes a numbered document may carry before its issuer symbol.
TYPE_CODES = {"KH", "BC", "TB", "HD", "QĐ", "CT", "GM", "NQ", "KL"}

_FORM = re.compile(r"^(?P<number>[0-9]+)(?:/(?P<year>[12][0-9]{3}))?/(?P<symbol>[^\s/]+)$")
#: Numbers below 10 are often written with a leading zero ("05/KH-BCĐ"); nothing else is.
_NUMBER = re.compile(r"^(?:0[1-9]|[1-9][0-9]*)$")
_SYMBOL_PART = re.compile(r"^[^\W\d_a-z][^\W_]*$")


@dataclass(frozen=True)
class DocumentNumber:
    number: int
    year: int | None
    type_code: str | None
    issuer: str
    #: The number as it was written: "05" stays "05".
    written: str = ""

    def __str__(self) -> str:
        return self.spelled(self.written or str(self.number))

    def spelled(self, digits: str) -> str:
        head = f"{digits}/{self.year}" if self.year else digits
        if self.type_code:
            return f"{head}/{self.type_code}-{self.issuer}"
        return f"{head}/{self.issuer}"

    def spellings(self) -> list[str]:
        """Every way of writing this document: 01 and 1 are the same number."""
        plain = str(self.number)
        return [self.spelled(plain), self.spelled(f"0{plain}")] if self.number < 10 else [str(self)]


class InvalidDocumentNumber(ValueError):
    pass


def parse_document_number(text: str) -> DocumentNumber:
    """Reads "276/KH-BCĐTH"; raises :class:`InvalidDocumentNumber` with a Vietnamese reason."""
    text = unicodedata.normalize("NFC", text.strip())
    match = _FORM.match(text)
    if not match:
        raise InvalidDocumentNumber(
            _(
                "Số văn bản phải có dạng số/ký hiệu, viết liền không dấu cách, "
                "ví dụ 276/KH-BCĐTH hoặc 78/BCĐTH."
            )
        )
    if not _NUMBER.match(match["number"]):
        raise InvalidDocumentNumber(
            _(
                "Số văn bản %(number)s không hợp lệ: số bắt đầu từ 1, chỉ số dưới 10 "
                "mới viết thêm số 0 ở đầu, ví dụ 05/KH-BCĐ.",
                number=match["number"],
            )
        )
    parts = match["symbol"].split("-")
    if any(not part or not _SYMBOL_PART.match(part) or part != part.upper() for part in parts):
        raise InvalidDocumentNumber(
            _("Ký hiệu văn bản viết chữ in hoa, các phần nối bằng dấu gạch ngang, ví dụ KH-BCĐTH.")
        )
    type_code = parts[0] if len(parts) > 1 and parts[0] in TYPE_CODES else None
    issuer = "-".join(parts[1:] if type_code else parts)
    year = int(match["year"]) if match["year"] else None
    return DocumentNumber(int(match["number"]), year, type_code, issuer, match["number"])
