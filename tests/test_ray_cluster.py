"""torch_mt.ray on a two-node Ray cluster, simulated on this machine with
Ray's own test utility (ray.cluster_utils.Cluster): two raylets of one CPU
each, as two machines would be, with the join's inputs fetched by each."""

from __future__ import annotations

import os
import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_levenshtein_join import as_triples, brute_force, corpora

import torch_mt

ray = pytest.importorskip("ray", reason="the ray extra is not installed")
from ray.cluster_utils import Cluster  # noqa: E402

import torch_mt.ray  # noqa: E402  (needs ray)

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module")
def two_nodes():
    saved = os.environ.pop("TORCH_MT_NUM_THREADS", None)  # see test_ray.py
    ray.shutdown()  # one a benchmark test may have left (a no-op when none)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    yield cluster
    ray.shutdown()
    cluster.shutdown()
    if saved is not None:
        os.environ["TORCH_MT_NUM_THREADS"] = saved


@ray.remote(num_cpus=1)
def _node_and_threads() -> tuple[str, int]:
    time.sleep(0.5)  # long enough that two of these run at once, one per node
    return ray.get_runtime_context().get_node_id(), torch_mt.get_num_threads()


def test_the_cluster_has_two_nodes_and_tasks_use_both(two_nodes):
    assert sum(node["Alive"] for node in ray.nodes()) == 2
    seen = ray.get([_node_and_threads.remote() for _ in range(2)])
    assert len({node for node, _ in seen}) == 2
    assert [threads for _, threads in seen] == [1, 1]  # one CPU per task and node


@settings(max_examples=6)
@given(corpus=corpora(), k=st.integers(0, 3), block_size=st.integers(1, 4))
def test_join_on_two_nodes_equals_brute_force(two_nodes, corpus, k, block_size):
    a, b = corpus
    on_cluster = torch_mt.ray.similarity_join(a, b, max_distance=k, block_size=block_size)
    assert as_triples(on_cluster) == brute_force(a, b, k)


def test_a_larger_join_on_two_nodes_equals_the_local_one(two_nodes):
    rng = torch.Generator().manual_seed(11)
    lengths = torch.randint(5, 40, (3000,), generator=rng)
    corpus = [torch.randint(0, 3, (int(n),), generator=rng).tolist() for n in lengths]
    local = torch_mt.similarity_join(corpus, max_distance=4, block_size=256)
    on_cluster = torch_mt.ray.similarity_join(corpus, max_distance=4, block_size=256)
    assert len(local[0]) > 1000
    assert as_triples(on_cluster) == as_triples(local)
