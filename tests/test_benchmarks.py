"""The benchmark harness runs end to end on a tiny province (timings are not judged here)."""

from __future__ import annotations

from benchmarks.__main__ import main


def test_benchmarks_run_on_a_tiny_province(capsys):
    main(["--tiny", "--runs", "1"])
    out = capsys.readouterr().out
    assert "machine:" in out
    assert "province plan summary" in out
    assert "district dashboard page" in out
    assert "summary export" in out
    assert "quota import" in out
    assert "result import" in out
