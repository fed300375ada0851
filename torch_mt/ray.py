"""torch_mt on a Ray cluster, by its short public name.

The engine itself belongs to the edit-distance family: the similarity join's
row blocks as Ray tasks, in ``torch_mt/levenshtein/join_ray.py``. This module
is the name users import (``import torch_mt.ray``); it needs Ray
(``pip install "torch_mt[ray]"``) and is never imported by ``import torch_mt``.
"""

from .levenshtein.join_ray import probe_threads, run_plan, similarity_join

__all__ = ["probe_threads", "run_plan", "similarity_join"]
