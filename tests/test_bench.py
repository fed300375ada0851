"""The benchmark command is checked for correctness, never for speed."""

import json

from torch_mt.bench.__main__ import main


def test_quick_benchmark_writes_every_figure(tmp_path, capsys):
    path = tmp_path / "bench.json"
    # Every arm's result is checked against the first arm's inside main().
    assert main(["--quick", "--json", str(path), "--min-run-time", "0.01"]) == 0
    report = json.loads(path.read_text())
    assert {"cpu_model", "cpus_usable", "torch", "torch_mt_threads"} <= report["machine"].keys()
    arms = {(row["workload"], row["arm"]) for row in report["results"]}
    assert len(arms) == 38
    for row in report["results"]:
        assert row["median_s"] > 0 and row["runs"] >= 1 and row["speedup_vs_baseline"] > 0
    table = capsys.readouterr().out
    assert "| workload | arm | median (ms)" in table
    assert "torch_mt, 1 thread" in table
