"""What reads and changes data. Functions here flush, never commit: the caller
(a request, a CLI command) owns the transaction and commits once."""
