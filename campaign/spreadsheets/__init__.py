"""Excel in and out: pure functions between workbooks and plain rows (no Flask, no database)."""
