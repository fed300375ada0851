"""torch_mt on a real local Ray (started here with 2 CPUs, shut down after):
the Ray join engine against the local one and brute force, thread counts in
Ray workers, a worker killed mid-join, and the Ray Data recipe of
docs/scale_out.md."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import threading
import time

import psutil
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein
from scripts import run_script
from test_levenshtein_join import as_triples, brute_force, corpora

import torch_mt

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
import torch_mt.ray  # noqa: E402  (needs ray)

pytestmark = pytest.mark.ray

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def local_ray():
    # The workers must decide their own thread counts: an inherited
    # TORCH_MT_NUM_THREADS would take precedence over the allocation.
    saved = os.environ.pop("TORCH_MT_NUM_THREADS", None)
    ray.shutdown()  # one a benchmark test may have left (a no-op when none)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
    if saved is not None:
        os.environ["TORCH_MT_NUM_THREADS"] = saved


def test_without_ray_init_the_join_starts_a_local_ray():
    # First in this file: no Ray is running in this process yet.
    result = run_script("""
        import torch_mt.ray
        print(torch_mt.ray.similarity_join(["jon", "john", "jane"], max_distance=1))
        """)
    assert result.returncode == 0, result.stderr
    assert "(tensor([0]), tensor([1]), tensor([1]))" in result.stdout


@settings(max_examples=10)
@given(corpus=corpora(), k=st.integers(0, 4), block_size=st.integers(1, 6))
def test_ray_join_equals_local_join_and_brute_force(local_ray, corpus, k, block_size):
    a, b = corpus
    on_ray = torch_mt.ray.similarity_join(a, b, max_distance=k, block_size=block_size)
    local = torch_mt.similarity_join(a, b, max_distance=k, block_size=block_size)
    assert as_triples(on_ray) == as_triples(local) == brute_force(a, b, k)


def test_engine_option_runs_on_ray(local_ray):
    names = ["jon smith", "john smith", "jane doe", "jon smyth"]
    expected = [(0, 1, 1), (0, 3, 1)]
    assert as_triples(torch_mt.similarity_join(names, max_distance=1, engine="ray")) == expected


def test_tasks_use_exactly_the_cpus_ray_gave_them(local_ray):
    # Ray reuses worker processes across tasks of different sizes: the
    # default count must follow each task, both ways, in the same worker.
    probe = torch_mt.ray.probe_threads
    for cpus in [1, 2, 1, 2, 1]:
        assert ray.get(probe.options(num_cpus=cpus).remote()) == cpus


def test_an_actor_uses_its_cpus(local_ray):
    @ray.remote(num_cpus=2)
    class Scorer:
        def threads(self) -> int:
            return torch_mt.get_num_threads()

        def distances(self, a, b):
            return torch_mt.edit_distance(a, b).tolist()

    scorer = Scorer.remote()
    assert ray.get(scorer.threads.remote()) == 2
    assert ray.get(scorer.distances.remote(["kitten"], ["sitting"])) == [3]


def _join_task_pids() -> list[int]:
    """Ray workers running a join block now (Ray titles a worker process
    ``ray::<function>`` while it runs a task)."""
    pids = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if cmdline.startswith("ray::_join_rows"):
            pids.append(process.pid)
    return pids


def test_a_worker_killed_mid_join_loses_and_duplicates_nothing(local_ray):
    # 24 blocks of ~0.1 s in 8 tasks on 2 CPUs: the killer finds a task
    # running, kills its worker with SIGKILL, and Ray runs that task again.
    rng = torch.Generator().manual_seed(5)
    corpus = [
        torch.randint(0, 4, (int(n),), generator=rng).tolist()
        for n in torch.randint(150, 200, (1200,), generator=rng)
    ]
    expected = as_triples(torch_mt.similarity_join(corpus, max_distance=90, block_size=50))
    assert len(expected) > 1000  # enough pairs that a lost or doubled block shows

    killed: list[int] = []
    done = threading.Event()

    def kill_one_running_block() -> None:
        while not done.is_set() and not killed:
            for pid in _join_task_pids():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.002)

    killer = threading.Thread(target=kill_one_running_block)
    killer.start()
    try:
        on_ray = torch_mt.ray.similarity_join(corpus, max_distance=90, block_size=50, max_retries=3)
    finally:
        done.set()
        killer.join()
    assert killed, "no join task was seen running: the test did not kill anything"
    assert as_triples(on_ray) == expected


def test_a_join_without_retries_reports_the_lost_worker(local_ray):
    @ray.remote(max_retries=0)
    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(ray.exceptions.WorkerCrashedError):
        ray.get(die.remote())


def test_bad_input_fails_before_any_task(local_ray):
    with pytest.raises(TypeError, match=r"similarity_join: argument 'a': item 1"):
        torch_mt.ray.similarity_join(["a", 1], max_distance=1)
    with pytest.raises(ValueError, match=r"'max_distance' must be >= 0"):
        torch_mt.ray.similarity_join(["a"], max_distance=-2)
    with pytest.raises(ValueError, match=r"'num_cpus_per_task' must be > 0"):
        torch_mt.ray.similarity_join(["a"], max_distance=1, num_cpus_per_task=0)
    assert as_triples(torch_mt.ray.similarity_join([], max_distance=1)) == []


def test_the_ray_data_recipe_of_the_docs_runs_and_scores_every_row(local_ray):
    # The recipe's code block in docs/scale_out.md, run as written.
    text = (ROOT / "docs" / "scale_out.md").read_text()
    recipe = text.split("## Ray Data recipe", 1)[1]
    code = re.search(r"```python\n(.*?)```", recipe, re.S).group(1)
    namespace: dict = {"__name__": "recipe"}
    exec(compile(code, "docs/scale_out.md (Ray Data recipe)", "exec"), namespace)
    rows, distances = namespace["rows"], namespace["distances"]
    assert len(rows) == 500
    assert distances == {
        row["id"]: Levenshtein.distance(
            row["a"][: row["a_lengths"]].tolist(), row["b"][: row["b_lengths"]].tolist()
        )
        for row in rows
    }
