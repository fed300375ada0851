"""The benchmark command: ``python -m torch_mt.bench`` (see ``--help``).

Every arm of a workload is timed in the same run with ``torch.utils.benchmark``
and checked to compute the same result; speedups are ratios of medians taken
side by side, never absolute times from another run.
"""
