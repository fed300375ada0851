"""The benchmark command is checked for correctness, never for speed."""

from __future__ import annotations

import json
import math
import pathlib
from collections import namedtuple

import pytest
from scripts import run_script

from torch_mt.bench import big_tensor
from torch_mt.bench.__main__ import main, time_workload
from torch_mt.bench.results import Timing, summarise
from torch_mt.bench.workload import Arm, Workload, all_workloads, arms_of, headline_workloads
from torch_mt.testing import registered_specs

REGISTRY = registered_specs()

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("bench")
    argv = [
        "--quick",
        "--json",
        str(directory / "bench.json"),
        "--plot",
        str(directory / "charts"),
        "--min-run-time",
        "0.01",
        "--size",
        "0.004",
        "--threads",
        "1,2",
    ]
    # Every arm's result is checked against the first arm's inside main().
    assert main(argv) == 0
    return json.loads((directory / "bench.json").read_text()), directory


def test_json_has_every_field(quick_run):
    report, _ = quick_run
    assert {
        "cpu_model",
        "cpu_vendor",
        "cpu_flags",
        "torch_mt_simd",
        "cpus_usable",
        "cpus_online",
        "torch",
        "torch_mt",
        "torch_intra_op_threads",
        "torch_mt_threads",
    } <= report["machine"].keys()
    assert report["thread_counts"] == [1, 2] and report["quick"] is True
    for row in report["results"]:
        assert set(row) == {
            "workload",
            "arm",
            "threads",
            "median_s",
            "iqr_s",
            "runs",
            "speedup_vs_baseline",
            "kind",
        }
        assert row["median_s"] > 0 and row["runs"] >= 1 and row["speedup_vs_baseline"] > 0
    # Every arm of every workload whose peers are installed, and nothing else.
    expected = {(w.name, arm.name) for w in all_workloads(quick=True) for arm in arms_of(w, [1, 2])}
    assert {(row["workload"], row["arm"]) for row in report["results"]} == expected


def test_the_ray_rows_stop_the_ray_they_started(quick_run):
    # A local Ray left running would take CPU from every row after the join's.
    ray = pytest.importorskip("ray")
    report, _ = quick_run
    assert any("torch_mt.ray" in row["arm"] for row in report["results"])
    assert not ray.is_initialized()


def test_a_tiny_call_is_timed_from_cpp_and_from_python(quick_run):
    report, _ = quick_run
    overhead = report["cpp_call_overhead"]
    assert overhead["note"] == "" and overhead["cpp_ns"] > 0 and overhead["python_ns"] > 0
    assert overhead["build_s"] > 0


def test_the_summary_has_a_row_per_main_workload(quick_run):
    report, _ = quick_run
    # Every main workload that times torch_mt's own arms (pad_sequences
    # compares two ways of padding, with no "torch_mt, N threads" arm).
    main_rows = {
        row["workload"]
        for row in report["results"]
        if row["kind"] == "main" and row["arm"].startswith("torch_mt, ")
    }
    assert {row["workload"] for row in report["summary"]} == main_rows
    for row in report["summary"]:
        assert set(row["torch_mt_s"]) == {"1", "2"}  # JSON keys


def _timing(workload: str, arm: str, seconds: float, threads=None) -> Timing:
    return Timing(workload, arm, threads, seconds, 0.0, 1, 1.0, "main")


def test_the_summary_relates_torch_mt_to_the_status_quo_and_the_fastest_peer():
    timings = [
        _timing("w", "status quo loop", 8.0),
        _timing("w", "slow peer", 4.0),
        _timing("w", "fast peer", 2.0),
        _timing("w", "another way to call torch_mt", 0.1, threads=2),
        _timing("w", "torch_mt, 1 thread", 1.0, threads=1),
        _timing("w", "torch_mt, 2 threads", 0.5, threads=2),
        _timing("no peer", "pure PyTorch", 3.0),
        _timing("no peer", "torch_mt, 1 thread", 1.5, threads=1),
    ]
    peers = {"w": {"slow peer", "fast peer"}, "no peer": set()}
    with_peer, without = summarise(timings, {"w": "fam", "no peer": "fam"}, peers)
    assert (with_peer.status_quo, with_peer.best_peer) == ("status quo loop", "fast peer")
    assert with_peer.torch_mt_s == {1: 1.0, 2: 0.5} and with_peer.best_peer_s == 2.0
    assert without.best_peer is None and without.status_quo_s == 3.0


def test_the_headline_run_is_one_main_row_per_family():
    import torch_mt

    rows = headline_workloads()
    assert [row.family for row in rows] == [f.__name__.split(".")[-1] for f in torch_mt.FAMILIES]
    assert all(row.kind == "main" and row.torch_mt is not None and row.arms for row in rows)


_NOISY_PEER_WORKLOADS = """
import logging, warnings
import torch
from torch_mt.bench.workload import Arm, Workload

def noisy_peer():
    logging.getLogger("some_peer").warning("bindings are not installed")
    warnings.warn("token authentication is off")
    print("loading annotations into memory...")
    return torch.ops.mt.dtw(torch.ones(1, 2, 2))

def workloads(quick):
    return [Workload(name="dtw beside a noisy peer", description="", ops=("dtw",),
                     arms=[Arm("the noisy peer", noisy_peer)],
                     torch_mt=lambda: torch.ops.mt.dtw(torch.ones(1, 2, 2)),
                     normalise=lambda result: result.tolist())]
"""


def test_the_peers_messages_stay_out_of_the_report(tmp_path):
    # A log record, a warning and a print from an arm: none reaches stdout or
    # stderr (run in a subprocess: pytest's own capture would hide them).
    (tmp_path / "workloads.py").write_text(_NOISY_PEER_WORKLOADS)
    result = run_script(
        f"""
        import sys
        from torch_mt.bench.__main__ import main
        sys.exit(main(["--workloads", {str(tmp_path / "workloads.py")!r},
                       "--min-run-time", "0.01", "--threads", "1"]))
        """,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "| dtw beside a noisy peer | the noisy peer |" in result.stdout
    for noise in ("bindings are not installed", "token authentication", "loading annotations"):
        assert noise not in result.stdout + result.stderr
    assert "\r" not in result.stderr  # no progress bar outside a terminal
    assert "## Summary" in result.stdout


def test_thread_scaling_is_computed_from_the_timings(quick_run):
    report, _ = quick_run
    medians = {
        (r["workload"], r["threads"]): r["median_s"]
        for r in report["results"]
        if r["arm"].startswith("torch_mt, ")
    }
    for row in report["thread_scaling"]:
        one = medians[(row["workload"], 1)]
        mine = medians[(row["workload"], row["threads"])]
        assert math.isclose(row["speedup_vs_1_thread"], one / mine)
        assert math.isclose(row["efficiency"], one / (row["threads"] * mine))
    assert {row["threads"] for row in report["thread_scaling"]} == {1, 2}


def test_every_registered_op_has_a_small_input_row(quick_run):
    report, _ = quick_run
    names = {verdict["workload"] for verdict in report["small_inputs"]}
    assert names == {f"small: {spec.name}" for spec in REGISTRY}
    for verdict in report["small_inputs"]:
        assert verdict["threads"] == 2 and verdict["ok"] == (verdict["ratio"] >= 0.9)


def test_big_tensor_comparison_measures_every_arm(quick_run):
    report, _ = quick_run
    setup, results = report["big_tensor"]["setup"], report["big_tensor"]["results"]
    assert setup["items"] == 4 and setup["dtype"] == "float32"
    assert len(results) == 7
    for row in results:
        assert row["seconds"] > 0 and row["speedup_vs_loop"] > 0 and row["note"] == ""
        assert row["peak_memory_bytes"] > setup["tensor_bytes"]
        assert 0 < row["cpu_utilisation"]


def test_plots_are_png_files(quick_run):
    _, directory = quick_run
    for name in ("speedup.png", "scaling.png", "big_tensor.png"):
        assert (directory / "charts" / name).read_bytes()[:8] == PNG_SIGNATURE


def test_an_arm_that_disagrees_stops_the_benchmark():
    workload = Workload(
        name="disagreeing",
        description="",
        ops=(),
        arms=[Arm("one", lambda: 1)],
        torch_mt=lambda: 2,
        normalise=lambda value: value,
    )
    with pytest.raises(AssertionError, match="'torch_mt, 1 thread' disagrees with 'one'"):
        time_workload(workload, 0.01, [1])


def test_small_inputs_cover_the_registry():
    small = {w.name for w in all_workloads(quick=True) if w.kind == "small"}
    assert small == {f"small: {s.name}" for s in REGISTRY}


def test_a_missing_peer_skips_its_arms_and_says_which_package_adds_them():
    # dtaidistance made unimportable: its arms go, the rest of the run does not.
    result = run_script(
        """
        import sys
        sys.modules["dtaidistance"] = None  # import dtaidistance now raises ImportError
        import importlib.util
        real_find_spec = importlib.util.find_spec
        importlib.util.find_spec = lambda name, *a: (
            None if name.split(".")[0] == "dtaidistance" else real_find_spec(name, *a))
        from torch_mt.bench.__main__ import main
        sys.exit(main(["--quick", "--min-run-time", "0.01", "--size", "0", "--threads", "1"]))
        """,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "dtaidistance" not in result.stdout.split("Arms skipped")[0].replace(
        "pip install dtaidistance", ""
    )
    assert (
        "'python loop: dtaidistance.dtw.distance_fast' (pip install dtaidistance adds it)"
        in result.stdout
    )
    assert "| dtw, 16 x 128x128 | torch_mt, 1 thread |" in result.stdout


_BROKEN_PEER_WORKLOADS = """
import torch
from torch_mt.bench.workload import Arm, Workload, peer

def workloads(quick):
    cost = torch.rand(2, 3, 3, dtype=torch.float64)
    return [
        Workload(
            name="dtw beside a broken peer",
            description="an arm whose peer is installed but raises at import",
            ops=("dtw",),
            arms=[
                Arm("a plain call", lambda: torch.ops.mt.dtw(cost)),
                Arm("the broken peer", lambda: peer("broken_peer").run(cost),
                    requires=("broken_peer",)),
            ],
            torch_mt=lambda: torch.ops.mt.dtw(cost),
            normalise=lambda result: result.tolist(),
        )
    ]
"""


def test_a_peer_that_fails_to_import_skips_its_arm_and_reports_the_error(
    tmp_path, monkeypatch, capsys
):
    # Installed (find_spec sees it) but broken at import, as a numba that
    # does not match numpy under tslearn: the arm is skipped, not a crash.
    (tmp_path / "broken_peer.py").write_text("raise ImportError('needs a newer numpy')\n")
    (tmp_path / "workloads.py").write_text(_BROKEN_PEER_WORKLOADS)
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["--workloads", str(tmp_path / "workloads.py"), "--quick", "--min-run-time", "0.01"]
    assert main([*argv, "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert (
        "'the broken peer' (broken_peer (import failed: ImportError: needs a newer numpy))" in out
    )
    assert "| dtw beside a broken peer | a plain call |" in out


def test_an_arm_that_would_not_fit_in_memory_is_skipped_with_a_note(monkeypatch):
    import psutil

    memory = namedtuple("memory", "available")
    monkeypatch.setattr(psutil, "virtual_memory", lambda: memory(available=2**20))
    _, results = big_tensor.run_big_tensor(0.002, 2)
    skipped = [r for r in results if r.seconds is None]
    assert {r.arm for r in skipped} == {
        "multiprocessing.Pool(2), items pickled to workers",
        "torch.multiprocessing Pool(2), tensor in shared memory",
    }
    assert all(r.note.startswith("skipped: needs ~") for r in skipped)


def test_a_users_workload_file_gets_its_own_rows(tmp_path, capsys):
    # examples/user_op/bench.py: the user op against rapidfuzz, checked to agree
    # before timing (main() raises otherwise), and nothing of the built-in suite.
    example = pathlib.Path(__file__).resolve().parent.parent / "examples" / "user_op" / "bench.py"
    argv = ["--workloads", str(example), "--quick", "--min-run-time", "0.01", "--threads", "1,2"]
    assert main([*argv, "--json", str(tmp_path / "bench.json")]) == 0
    results = json.loads((tmp_path / "bench.json").read_text())["results"]
    assert {(row["workload"], row["arm"]) for row in results} == {
        ("user_ops::lcs_length, 2000 pairs", "python loop: rapidfuzz LCSseq.similarity"),
        ("user_ops::lcs_length, 2000 pairs", "torch_mt, 1 thread"),
        ("user_ops::lcs_length, 2000 pairs", "torch_mt, 2 threads"),
    }
    assert "| user_ops::lcs_length, 2000 pairs | torch_mt, 2 threads |" in capsys.readouterr().out


def test_a_workload_file_without_workloads_is_refused_by_name(tmp_path):
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(SystemExit, match=r"defines no workloads\(quick\) function"):
        main(["--workloads", str(empty), "--quick"])
    with pytest.raises(SystemExit, match="no Python file"):
        main(["--workloads", str(tmp_path / "missing.py"), "--quick"])


def test_build_times_reports_a_cold_build_and_cached_loads(capsys):
    from torch_mt.bench import build_times

    assert build_times.main() == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert [row.split("|")[1].strip() for row in rows[2:]] == [
        "cold build + load of lcs.cpp",
        "cached load (median of 3)",
        "`import torch_mt` (median of 3)",
    ]
    for row in rows[2:]:
        assert float(row.split("|")[2]) > 0
