"""The load test runs end to end against gunicorn for a few seconds (a smoke test)."""

from __future__ import annotations

from benchmarks.load.__main__ import main


def test_load_test_runs_and_verifies_on_sqlite(capsys):
    code = main(
        ["--engine", "sqlite", "--duration", "2", "--reporters", "4", "--leaders", "1",
         "--workers", "2"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert "every acknowledged write is in the database" in out
    assert "'database is locked' seen: 0" in out
    assert code == 0, out
