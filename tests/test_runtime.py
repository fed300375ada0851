"""The runtime (ops/runtime/) through its test-only operators, torch.ops.mt_test.*."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scripts import run_script

import torch_mt
import torch_mt._probes

torch_mt._probes.load()
probe = torch.ops.mt_test


# ---- parallel_for ------------------------------------------------------------


@given(size=st.integers(0, 3000), grain=st.integers(1, 300), threads=st.integers(1, 4))
def test_every_index_runs_exactly_once(size, grain, threads):
    with torch_mt.num_threads(threads):
        owners = probe.fan_out_owners(size, grain)  # raises if an index runs twice
    assert owners.shape == (size,)
    assert bool((owners >= 0).all())
    assert size == 0 or int(owners.max()) < threads


@given(size=st.integers(1, 500), threads=st.integers(1, 4))
def test_runs_inline_when_range_fits_in_one_grain(size, threads):
    with torch_mt.num_threads(threads):
        owners = probe.fan_out_owners(size, size)
    assert bool((owners == 0).all())


def test_runs_inline_with_one_thread():
    with torch_mt.num_threads(1):
        owners = probe.fan_out_owners(200, 1, 50.0)
    assert bool((owners == 0).all())


def test_workers_share_slow_work():
    # 400 items x 50 us: the caller alone would need 20 ms, so a helper joins.
    with torch_mt.num_threads(2):
        owners = probe.fan_out_owners(400, 1, 50.0)
    assert set(owners.tolist()) == {0, 1}


def test_skewed_work_keeps_every_thread_busy():
    # Chunks are claimed dynamically: the helper takes many chunks, not one half.
    with torch_mt.num_threads(2):
        owners = probe.fan_out_owners(256, 1, 100.0)
    helper_items = int((owners == 1).sum())
    assert 0 < helper_items < 256


def test_fan_out_nested_in_the_callers_chunk_does_not_stall_the_caller():
    # Each of 128 items runs its own parallel_for. Were that inner fan-out to
    # wait on helpers queued behind the busy worker, the caller would finish
    # one outer chunk (2 items) and then sit idle until the worker drained
    # the rest; inline, the caller keeps claiming outer chunks.
    with torch_mt.num_threads(2):
        owners = probe.fan_out_owners(128, 1, 20.0, 4)
    assert int((owners == 0).sum()) > 16


def test_nested_fan_out_completes_and_is_correct():
    with torch_mt.num_threads(3):
        out = probe.fan_out_nested(37, 53)
    assert torch.equal(out, torch.arange(37 * 53).reshape(37, 53))


# ---- errors --------------------------------------------------------------------


@settings(max_examples=30)
@given(
    size=st.integers(1, 2000), grain=st.integers(1, 64), data=st.data(), threads=st.integers(1, 4)
)
def test_exception_in_any_chunk_reaches_python(size, grain, data, threads):
    fail_at = data.draw(st.integers(0, size - 1))
    with torch_mt.num_threads(threads):
        with pytest.raises(RuntimeError, match=f"chunk failure at {fail_at}"):
            probe.fan_out_fail(size, grain, fail_at, f"chunk failure at {fail_at}")
        # The pool stays usable after an error.
        assert bool((probe.fan_out_fail(size, grain, -1, "unused") == 1).all())


def test_many_errors_in_a_row_leave_the_pool_usable():
    with torch_mt.num_threads(2):
        for i in range(500):
            with pytest.raises(RuntimeError, match="boom"):
                probe.fan_out_fail(256, 1, i % 256, "boom")
        assert bool((probe.fan_out_fail(256, 1, -1, "unused") == 1).all())


def test_submit_returns_results_through_futures():
    assert probe.pool_submit_sum(3, 100, -1) == sum(range(100))


def test_submit_exception_arrives_through_future():
    with pytest.raises(RuntimeError, match="task 7 failed"):
        probe.pool_submit_sum(2, 20, 7)


# ---- thread-local state --------------------------------------------------------


def _state_columns(state):
    return {
        "grad": set(state[:, 0].tolist()),
        "inference": set(state[:, 1].tolist()),
        "aten_threads": set(state[:, 2].tolist()),
        "on_worker": set(state[:, 3].tolist()),
    }


def test_workers_see_callers_grad_mode():
    with torch_mt.num_threads(2):
        with torch.no_grad():
            off = _state_columns(probe.worker_state(64))
        on = _state_columns(probe.worker_state(64))
    assert off["on_worker"] == {0, 1} and on["on_worker"] == {0, 1}
    assert off["grad"] == {0}
    assert on["grad"] == {1}


def test_workers_see_callers_inference_mode():
    with torch_mt.num_threads(2), torch.inference_mode():
        state = _state_columns(probe.worker_state(64))
    assert state["on_worker"] == {0, 1}
    assert state["inference"] == {1}


def test_workers_run_aten_single_threaded():
    # An explicit torch.set_num_threads makes ATen re-apply its count on each
    # new thread's first use; the workers must still end up at 1.
    torch.set_num_threads(torch.get_num_threads())
    torch_mt.set_num_threads(1)  # the next fan-out starts fresh workers
    with torch_mt.num_threads(2):
        state = probe.worker_state(64)
    on_worker = state[:, 3] == 1
    assert bool(on_worker.any())
    assert set(state[on_worker, 2].tolist()) == {1}
    # The caller keeps its own intra-op setting.
    assert set(state[~on_worker, 2].tolist()) == {torch.get_num_threads()}


# ---- thread count ----------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 7, 1024])
def test_set_then_get_num_threads(count):
    torch_mt.set_num_threads(count)
    assert torch_mt.get_num_threads() == count
    assert torch.ops.mt.get_num_threads() == count


@pytest.mark.parametrize("bad", [0, -1, 1025, 10**12])
def test_set_num_threads_rejects_out_of_range(bad):
    # One range check (C++), one message, from Python and from the operator alike.
    message = (
        r"torch_mt.set_num_threads: argument 'num_threads' must be an integer between 1 "
        rf"and 1024, got {bad}"
    )
    for set_threads in (torch_mt.set_num_threads, torch.ops.mt.set_num_threads):
        with pytest.raises(ValueError, match=message):
            set_threads(bad)


@pytest.mark.parametrize("bad", [2.0, "2", True, None])
def test_set_num_threads_rejects_non_integers(bad):
    with pytest.raises(TypeError, match="torch_mt.set_num_threads: argument 'num_threads'"):
        torch_mt.set_num_threads(bad)


def test_thread_count_is_scriptable():
    @torch.jit.script
    def use_threads(count: int) -> int:
        torch.ops.mt.set_num_threads(count)
        return torch.ops.mt.get_num_threads()

    assert use_threads(3) == 3


def test_default_thread_count_is_the_cpus_this_process_may_use():
    result = run_script("""
        import os, torch, torch_mt
        print(torch_mt.get_num_threads(), len(os.sched_getaffinity(0)))
        """)
    assert result.returncode == 0, result.stderr
    threads, cpus = map(int, result.stdout.split())
    assert 1 <= threads <= cpus


def test_default_thread_count_follows_affinity_mask():
    result = run_script("""
        import os
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        import torch, torch_mt
        print(torch_mt.get_num_threads())
        """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1"]


def test_environment_variable_sets_thread_count():
    result = run_script(
        "import torch_mt; print(torch_mt.get_num_threads())", env={"TORCH_MT_NUM_THREADS": " 5 "}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["5"]


def _native_isa() -> str:
    """What simd::isa() picks with no switch set, from the CPU's flags."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            line = next((line for line in cpuinfo if line.startswith("flags")), "")
    except OSError:
        line = ""
    flags = set(line.split(":", 1)[-1].split())
    if not {"avx2", "bmi1", "bmi2", "popcnt"} <= flags:
        return "portable"
    return "avx512" if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags else "avx2"


@pytest.mark.parametrize(
    ("disable_simd", "disable_avx512", "cap"),
    [
        ("", "", None),  # set but empty: off
        ("0", "0", None),  # "0": off, as a user would expect
        ("", "1", "avx2"),
        ("", "yes", "avx2"),  # any other value: on
        ("1", "", "portable"),
        ("1", "1", "portable"),
    ],
)
def test_simd_switches_cap_the_instruction_set(disable_simd, disable_avx512, cap):
    result = run_script(
        """
        import torch, torch_mt

        @torch.jit.script
        def scripted() -> str:
            return torch.ops.mt.simd_isa()

        print(torch_mt.simd_isa(), scripted())
        """,
        env={"TORCH_MT_DISABLE_SIMD": disable_simd, "TORCH_MT_DISABLE_AVX512": disable_avx512},
    )
    assert result.returncode == 0, result.stderr
    order = ["portable", "avx2", "avx512"]
    native = _native_isa()
    expected = native if cap is None else order[min(order.index(native), order.index(cap))]
    assert result.stdout.split() == [expected, expected]


@pytest.mark.parametrize(
    ("omp", "ours", "expected"),
    [
        ("1", None, "1"),
        ("1,4", None, "1"),  # a list of nesting levels: the first is ours
        ("1", "3", "3"),  # TORCH_MT_NUM_THREADS comes first
        ("0", None, "cpus"),  # not an allocation: OpenMP's to reject, ignored here
        ("abc", None, "cpus"),
        ("64", None, "cpus"),  # never more than the affinity mask allows
    ],
)
def test_omp_num_threads_caps_the_default(omp, ours, expected):
    env = {"OMP_NUM_THREADS": omp}
    if ours is not None:
        env["TORCH_MT_NUM_THREADS"] = ours
    result = run_script(
        "import os, torch_mt; print(torch_mt.get_num_threads(), len(os.sched_getaffinity(0)))",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    threads, cpus = result.stdout.split()
    assert threads == (cpus if expected == "cpus" else expected)


def test_default_follows_an_allocation_that_changes_until_a_count_is_chosen():
    # A Ray worker process runs task after task, setting OMP_NUM_THREADS to
    # each one's num_cpus; a default count must follow it, a chosen one stay.
    result = run_script("""
        import os
        os.sched_setaffinity(0, set(list(os.sched_getaffinity(0))[:2]))
        import torch, torch_mt
        cpus = len(os.sched_getaffinity(0))
        a = torch.randint(0, 4, (4000, 40))
        seen = []
        for omp in ["1", str(cpus), "1"]:
            os.environ["OMP_NUM_THREADS"] = omp
            torch.ops.mt.edit_distance(a, a.flip(1))  # fans out: the pool follows
            seen.append(torch_mt.get_num_threads() == int(omp))
        torch_mt.set_num_threads(cpus)
        os.environ["OMP_NUM_THREADS"] = "1"
        seen.append(torch_mt.get_num_threads() == cpus)
        print(seen)
        """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[True,", "True,", "True,", "True]"]


def test_scoped_thread_count_restores_following_the_allocation():
    # The context manager used to restore the count it saw on entry as a
    # chosen one: a Ray worker that used it once then ran every later task
    # with that count, whatever OMP_NUM_THREADS and the affinity said.
    result = run_script("""
        import os
        os.sched_setaffinity(0, set(list(os.sched_getaffinity(0))[:2]))
        import torch, torch_mt
        cpus = len(os.sched_getaffinity(0))
        a = torch.randint(0, 4, (4000, 40))
        seen = []
        os.environ["OMP_NUM_THREADS"] = "1"
        with torch_mt.num_threads(cpus):
            pass
        os.environ["OMP_NUM_THREADS"] = str(cpus)
        torch.ops.mt.edit_distance(a, a.flip(1))
        seen.append(torch_mt.get_num_threads() == cpus)  # follows OMP_NUM_THREADS again
        del os.environ["OMP_NUM_THREADS"]
        with torch_mt.num_threads(cpus):
            pass
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        torch.ops.mt.edit_distance(a, a.flip(1))
        seen.append(torch_mt.get_num_threads() == 1)  # and the affinity mask
        torch_mt.set_num_threads(3)
        with torch_mt.num_threads(2):
            pass
        seen.append(torch_mt.get_num_threads() == 3)  # a chosen count comes back chosen
        torch_mt.reset_num_threads()
        seen.append(torch_mt.get_num_threads() == 1)
        print(seen)
        """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[True,", "True,", "True,", "True]"]


@pytest.mark.parametrize("bad", ["0", "-2", "abc", "2.5", "1025", "99999999999999999999"])
def test_invalid_environment_variable_fails_at_import_with_clear_error(bad):
    result = run_script(
        """
        try:
            import torch_mt
        except ValueError as error:
            print(str(error).splitlines()[0])
        """,
        env={"TORCH_MT_NUM_THREADS": bad},
    )
    assert result.returncode == 0, result.stderr
    assert (
        f"TORCH_MT_NUM_THREADS must be an integer between 1 and 1024, got '{bad}'" in result.stdout
    )


# ---- concurrency, resize, fork, exit ----------------------------------------------


def test_concurrent_callers_get_correct_results():
    torch_mt.set_num_threads(3)
    errors: list[BaseException] = []

    def caller(seed: int) -> None:
        try:
            for i in range(30):
                size = 100 + 37 * seed + i
                out = probe.fan_out_owners(size, 1)
                assert out.shape == (size,) and bool((out >= 0).all())
                nested = probe.fan_out_nested(7, 11)
                assert torch.equal(nested, torch.arange(77).reshape(7, 11))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=caller, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a caller hung"
    assert not errors, errors


def test_resizing_while_others_call():
    stop = threading.Event()
    errors: list[BaseException] = []

    def caller() -> None:
        try:
            while not stop.is_set():
                assert bool((probe.fan_out_fail(500, 1, -1, "unused") == 1).all())
        except BaseException as error:
            errors.append(error)

    callers = [threading.Thread(target=caller) for _ in range(4)]
    for thread in callers:
        thread.start()
    for i in range(200):
        torch_mt.set_num_threads(1 + i % 4)
    stop.set()
    for thread in callers:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in callers), "a caller hung"
    assert not errors, errors


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_child_processes_can_use_the_pool(start_method):
    result = run_script(f"""
        import multiprocessing as mp
        import torch, torch_mt, torch_mt._probes
        torch_mt._probes.load()

        def work(size):
            return int(torch.ops.mt_test.fan_out_owners(size, 1, 20.0).ge(0).sum())

        if __name__ == "__main__":
            torch_mt.set_num_threads(2)
            assert work(300) == 300          # the parent's pool is started
            with mp.get_context({start_method!r}).Pool(2) as pool:
                print(pool.map(work, [100, 200, 300]))
        """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[100,", "200,", "300]"]


def test_forked_child_gets_a_fresh_pool():
    result = run_script("""
        import os, torch, torch_mt, torch_mt._probes
        torch_mt._probes.load()
        torch_mt.set_num_threads(3)
        torch.ops.mt_test.fan_out_owners(300, 1, 20.0)
        pid = os.fork()
        if pid == 0:
            owners = torch.ops.mt_test.fan_out_owners(300, 1, 20.0)
            os._exit(0 if owners.max() >= 1 and torch_mt.get_num_threads() == 3 else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
        """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0"]


@pytest.mark.parametrize(
    "ending",
    [
        "pass",
        "import sys; threading.Thread(target=sys.exit).start()",
        "threading.Thread(target=lambda: torch.ops.mt_test.fan_out_owners(200000, 1, 50.0),"
        " daemon=True).start(); time.sleep(0.2)",
    ],
)
def test_interpreter_exits_cleanly_with_pool_alive(ending):
    result = run_script(f"""
        import threading, time, torch, torch_mt, torch_mt._probes
        torch_mt._probes.load()
        torch_mt.set_num_threads(3)
        torch_mt.edit_distance(["kitten"] * 500, ["sitting"] * 500)
        {ending}
        """)
    assert result.returncode == 0, result.stderr
    assert "terminate called" not in result.stderr


def _huge_pages_kb(begin: int, end: int) -> Optional[int]:
    """AnonHugePages (kB) of the mappings that overlap [begin, end), from
    /proc/self/smaps (madvise splits a mapping at the advised range's
    ends); None where the file is not there."""
    try:
        lines = Path("/proc/self/smaps").read_text().splitlines()
    except OSError:
        return None
    inside, total = False, 0
    for line in lines:
        head = line.split()[0]
        if "-" in head and ":" not in head:  # a mapping's first line: its range
            low, high = (int(part, 16) for part in head.split("-"))
            inside = low < end and begin < high
        elif inside and head == "AnonHugePages:":
            total += int(line.split()[1])
    return total


@pytest.mark.parametrize("threads", [1, 2])
def test_a_large_output_advised_to_huge_pages_keeps_its_values(threads):
    """mt::advise_huge_pages only hints: the output is written and read as
    ever, and where Linux offers transparent huge pages on request, a fresh
    64 MiB output gets some."""
    elements = 8 << 20  # 64 MiB of int64
    with torch_mt.num_threads(threads):
        out = torch.ops.mt_test.huge_pages_fill(elements)
    assert torch.equal(out, torch.arange(elements))
    setting = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    offered = setting.exists() and "[never]" not in setting.read_text()
    huge = _huge_pages_kb(out.data_ptr(), out.data_ptr() + out.nbytes)
    if offered and huge is not None:
        assert huge > 0, "no huge page backs the advised output"
