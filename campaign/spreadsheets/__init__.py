"""Excel in and out: pure functions between workbooks and plain rows (no Flask, no database)."""

#: The MIME type of an .xlsx workbook, sent on downloads and accepted on uploads.
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
