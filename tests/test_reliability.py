"""Reliability under the conditions users create: many threads, fork, long
runs, hostile input. Each risky case runs in a child process with a time
limit, so a hang or a crash fails the test instead of stalling the suite."""

from __future__ import annotations

import concurrent.futures
import multiprocessing

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scripts import run_script

import torch_mt
import torch_mt._probes
from torch_mt.levenshtein.spec import levenshtein_reference

torch_mt._probes.load()


def test_sixteen_threads_calling_ops_while_the_pool_resizes():
    result = run_script(
        """
        import random, threading, torch, torch_mt, torch_mt._probes
        torch_mt._probes.load()
        from torch_mt.levenshtein.spec import levenshtein_reference

        torch_mt.set_num_threads(2)
        rng = random.Random(0)
        def words(n):
            return [[rng.randrange(4) for _ in range(rng.randint(0, 70))] for _ in range(n)]
        cases = []
        for _ in range(16):
            a, b = words(40), words(40)
            cases.append((a, b, [levenshtein_reference(x, y) for x, y in zip(a, b)],
                          [[levenshtein_reference(x, y) for y in b[:6]] for x in a[:6]]))
        failures, stop = [], threading.Event()

        def caller(index):
            a, b, rowwise, grid = cases[index]
            for iteration in range(60):
                kind = (index + iteration) % 4
                if kind == 0:
                    assert torch_mt.edit_distance(a, b).tolist() == rowwise
                elif kind == 1:
                    assert torch_mt.edit_distance_pairwise(a[:6], b[:6]).tolist() == grid
                elif kind == 2:
                    out = torch.ops.mt_test.fan_out_nested(9, 7)
                    assert torch.equal(out, torch.arange(63).reshape(9, 7))
                else:
                    try:
                        torch.ops.mt_test.fan_out_fail(300, 1, 150, "expected failure")
                        raise AssertionError("no error")
                    except RuntimeError as error:
                        assert "expected failure" in str(error)

        def guarded(index):
            try:
                caller(index)
            except BaseException as error:
                failures.append(repr(error))

        def resizer():
            count = 0
            while not stop.is_set():
                torch_mt.set_num_threads(1 + count % 3)
                count += 1

        threads = [threading.Thread(target=guarded, args=(i,)) for i in range(16)]
        changer = threading.Thread(target=resizer)
        changer.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stop.set()
        changer.join()
        print("failures:", failures)
        """,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "failures: []"


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_dataloader_workers_use_the_ops(context):
    result = run_script(f"""
        import torch, torch_mt
        from torch.utils.data import DataLoader, Dataset

        class Pairs(Dataset):
            def __len__(self):
                return 8
            def __getitem__(self, i):
                return torch_mt.edit_distance(["kitten" * (i + 1)] * 300, ["sitting"] * 300)[0]

        if __name__ == "__main__":
            torch_mt.set_num_threads(2)
            x = torch.randn(512, 512)
            (x @ x).sum()  # the parent has used OpenMP and the torch_mt pool
            torch_mt.edit_distance(["kitten"] * 3000, ["sitting"] * 3000)
            loader = DataLoader(Pairs(), batch_size=4, num_workers=2,
                                multiprocessing_context={context!r})
            print(torch.cat(list(loader)).tolist())
        """)
    assert result.returncode == 0, result.stderr
    expected = [levenshtein_reference(list("kitten" * (i + 1)), list("sitting")) for i in range(8)]
    assert result.stdout.strip() == str(expected)


def test_forked_child_copes_with_non_contiguous_input_after_parent_used_openmp():
    # ATen's own dtype conversions and reductions hang here (libgomp after fork);
    # the op's input copy runs on the torch_mt pool instead.
    result = run_script(
        """
        import os, torch, torch_mt
        x = torch.randn(1000, 1000)
        (x @ x).sum()
        a = torch.randint(0, 5, (64, 50000)).t()     # non-contiguous [50000, 64]
        b = a.flip(1).t().contiguous().t()           # non-contiguous too
        lengths = torch.full((50000,), 64)
        expected = torch_mt.edit_distance(a, b, a_lengths=lengths, b_lengths=lengths).numpy()
        pid = os.fork()
        if pid == 0:  # no ATen compute here, only the op (numpy compares)
            out = torch_mt.edit_distance(a, b, a_lengths=lengths, b_lengths=lengths)
            os._exit(0 if (out.numpy() == expected).all() else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
        """,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0"]


# The memory checks run in a fresh interpreter: the RSS of the test process
# also moves with whatever earlier tests left running in it (a Ray driver's
# threads after ray.shutdown() grew it by 13 MiB during one such window).
_RSS_MIB = """
import os

def rss_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
"""


def _growth_mib(script: str) -> float:
    """The RSS growth a script prints (its last line), run in a fresh interpreter."""
    result = run_script(_RSS_MIB + script, timeout=300)
    assert result.returncode == 0, result.stderr
    return float(result.stdout.split()[-1])


def test_a_thousand_worker_errors_leak_nothing():
    growth = _growth_mib("""
import torch, torch_mt, torch_mt._probes
torch_mt._probes.load()
torch_mt.set_num_threads(2)
def fail(i):
    try:
        torch.ops.mt_test.fan_out_fail(64, 1, i, "boom")
    except RuntimeError as error:
        assert "boom" in str(error)
    else:
        raise AssertionError("no error")
for _ in range(200):  # warm up allocator pools and thread-local state
    fail(33)
before = rss_mib()
for i in range(1000):
    fail(i % 64)
print(rss_mib() - before)
""")
    print(f"RSS growth over 1000 worker errors: {growth:.2f} MiB")  # docs/reliability.md
    assert growth < 4, f"RSS grew {growth:.1f} MiB over 1000 errors"


@pytest.mark.parametrize("op", ["edit_distance", "edit_distance_pairwise"])
def test_a_hundred_thousand_calls_keep_memory_flat(op):
    growth = _growth_mib(f"""
import torch, torch_mt
torch_mt.set_num_threads(2)
call = torch.ops.mt.{op}
a = torch.randint(0, 3, (8, 12))
lengths = torch.randint(0, 13, (8,))
for _ in range(5_000):
    call(a, a, lengths, lengths)
before = rss_mib()
for _ in range(100_000):
    call(a, a, lengths, lengths)
print(rss_mib() - before)
""")
    print(f"RSS growth over 100 000 calls of mt::{op}: {growth:.2f} MiB")  # docs/reliability.md
    assert growth < 4, f"RSS grew {growth:.1f} MiB over 100 000 calls of mt::{op}"


# ---- hostile input, evaluated in a child process ----------------------------

DTYPES = [
    torch.bool,
    torch.uint8,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
    torch.complex64,
]
SPECIAL_VALUES = [0.0, 1.0, -1.0, float("nan"), float("inf"), -float("inf"), 2.0**40]


@st.composite
def hostile_tensors(draw, batch=None):
    dtype = draw(st.sampled_from(DTYPES))
    rank = draw(st.integers(0, 3))
    shape = [draw(st.integers(0, 4)) for _ in range(rank)]
    if batch is not None and rank >= 1 and draw(st.booleans()):
        shape[0] = batch
    values = torch.tensor(
        draw(st.lists(st.sampled_from(SPECIAL_VALUES + list(range(-3, 8))), min_size=1, max_size=1))
    )
    base = torch.randint(-3, 8, shape).to(torch.float64) if rank else values
    if dtype.is_floating_point and rank and draw(st.booleans()):
        base.view(-1)[: base.numel() // 2] = values
    tensor = base.to(dtype) if dtype != torch.bool else base > 0
    layout = draw(st.sampled_from(["contiguous", "transposed", "expanded", "huge-expanded"]))
    if layout == "transposed" and rank >= 2:
        tensor = tensor.transpose(0, 1).contiguous().transpose(0, 1)
    elif layout == "expanded" and rank >= 1:
        tensor = tensor[..., :1].expand(*shape[:-1], 5) if shape[-1] else tensor
    elif layout == "huge-expanded" and rank >= 1 and tensor.numel():
        huge = draw(st.sampled_from([2**20, 2**33, 2**62]))
        tensor = tensor.flatten()[:1].reshape([1] * rank).expand(huge, *[1] * (rank - 1))
    return tensor


def evaluate_in_child(op_name, args):
    """Runs in the worker process: the outcome, never an exception or a crash."""
    import torch_mt  # noqa: F401  (registers the ops in a spawned worker)

    try:
        out = getattr(torch.ops.mt, op_name)(*args)
        return ("ok", out)
    except Exception as error:  # noqa: BLE001 - the parent judges the type and message
        return ("error", type(error).__name__, str(error).splitlines()[0])


@pytest.fixture(scope="module")
def child():
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        yield pool


def rows_of_side(seqs, lengths):
    """The sequences of one side: padded rows ``[B, L]`` cut to their lengths,
    or a packed 1-D side split by its lengths (the operators take both)."""
    if seqs.dim() == 1:
        starts = [0, *torch.cumsum(lengths, 0).tolist()]
        return [seqs[starts[i] : starts[i + 1]].tolist() for i in range(len(lengths))]
    return [seqs[i, : int(lengths[i])].tolist() for i in range(seqs.shape[0])]


def expected_distances(op_name, a, b, a_lengths, b_lengths):
    rows_a, rows_b = rows_of_side(a, a_lengths), rows_of_side(b, b_lengths)
    if op_name == "edit_distance":
        return [levenshtein_reference(x, y) for x, y in zip(rows_a, rows_b)]
    return [[levenshtein_reference(x, y) for y in rows_b] for x in rows_a]


@settings(max_examples=150, deadline=None)
@given(op_name=st.sampled_from(["edit_distance", "edit_distance_pairwise"]), data=st.data())
def test_hostile_input_gives_right_answer_or_clear_error(child, op_name, data):
    batch = data.draw(st.integers(0, 4))
    args = [data.draw(hostile_tensors(batch=batch)) for _ in range(4)]
    try:
        outcome = child.submit(evaluate_in_child, op_name, args).result(timeout=120)
    except concurrent.futures.process.BrokenProcessPool:
        pytest.fail(f"mt::{op_name} crashed the process on {args!r}")
    if outcome[0] == "error":
        _, kind, message = outcome
        # Python's convention: TypeError for a dtype, ValueError for a value or shape.
        assert kind in ("TypeError", "ValueError") and message.startswith(f"mt::{op_name}: "), (
            outcome
        )
        return
    a, b, a_lengths, b_lengths = args
    assert outcome[1].tolist() == expected_distances(op_name, a, b, a_lengths, b_lengths)
