"""The benchmark harness runs end to end on a tiny province (timings are not judged here)."""

from __future__ import annotations

import re

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


def test_national_benchmarks_run_on_a_tiny_tree(capsys):
    main(["--national", "--tiny", "--runs", "1"])
    out = capsys.readouterr().out
    # The earlier province plan (its three districts hold the quotas), then the latest,
    # with its tree kept and read anew.
    assert "national summary, plan with 3 holders" in out
    assert out.count("national summary, plan with") == 3
    assert out.count("holders, tree read anew") == 1
    assert "national dashboard (3 holders), first page" in out
    assert out.count("national dashboard (") == 13
    assert out.count("next page, figures kept") == 1
    assert out.count("sorted by rate, figures kept") == 1
    assert out.count("first page, after one result saved") == 1
    assert out.count("first page, after a district plan's quota changed") == 1
    assert out.count("first page, after its quota changed") == 1
    assert out.count("first page, after a drive of a district plan scheduled") == 1
    assert out.count("first page, after a commune's plan recorded under it") == 1
    assert out.count("first page, after its own target set") == 1
    assert out.count("first page, after a unit added") == 1
    assert out.count("first page, after a unit renamed") == 1
    kept = r"national dashboard \([\d,]+ holders\), first page, figures kept \(between writes\)"
    assert len(re.findall(kept, out)) == 1
    assert out.count("national API summary (") == 2
    assert out.count("national unit page (a district of ") == 1
    assert "district dashboard page" in out
    assert "national export" in out
    assert "province plan summary" not in out
    # The columns line up, whatever the length of an operation's name.
    rows = out.split("-" * 20)[-1].strip("-\n").splitlines()
    assert len(rows) >= 10 and len({row.index("ms ") for row in rows}) == 1, rows
