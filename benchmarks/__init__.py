"""Performance harness: each operation against the bare minimum doing the same work."""
