"""Hypothesis profiles and shared fixtures.

Profiles: ``dev`` (default, quick) and ``ci`` (more examples, no deadline:
the 2-core CI machine is noisy). Pick one with HYPOTHESIS_PROFILE=ci.
"""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

from torch_mt._runtime import _thread_setting_restored

settings.register_profile(
    "dev",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _restore_thread_count():
    """Tests may change the pool size; every test starts from the same setting
    (a chosen count, or none: following the allocation)."""
    with _thread_setting_restored():
        yield


@pytest.fixture(autouse=True, scope="session")
def _deterministic_torch():
    torch.manual_seed(0)
