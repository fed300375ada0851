"""Thread-count control for the torch_mt pool (independent of torch.set_num_threads)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def get_num_threads() -> int:
    """Return how many threads a torch_mt operator fans out over (caller included).

    In order of precedence: the count given to :func:`set_num_threads` (or
    :func:`num_threads`, which restores it); else ``TORCH_MT_NUM_THREADS``, read at
    first use; else the CPUs this process is allocated, the smallest of its
    affinity mask, its cgroup CPU quota and ``OMP_NUM_THREADS``. That default is
    looked at again whenever an operator fans out, so a Ray worker follows each
    task's ``num_cpus`` (Ray sets ``OMP_NUM_THREADS`` to it for every task).

    Returns:
        The thread count, an ``int`` in [1, 1024].

    Raises:
        ValueError: ``TORCH_MT_NUM_THREADS`` is not an integer in [1, 1024].

    Example:
        >>> import torch_mt
        >>> torch_mt.get_num_threads() >= 1
        True
    """
    return torch.ops.mt.get_num_threads()


def set_num_threads(num_threads: int) -> None:
    """Set how many threads torch_mt operators use, the calling thread included.

    Takes effect for the next operator call; calls already running finish on
    the threads they started with. ``1`` runs every operator on the caller.
    Also available to TorchScript as ``torch.ops.mt.set_num_threads``.

    Args:
        num_threads: an ``int`` in [1, 1024].

    Returns:
        None.

    Raises:
        TypeError: ``num_threads`` is not an ``int`` (``bool`` included).
        ValueError: ``num_threads`` is outside [1, 1024].

    Example:
        >>> import torch_mt
        >>> torch_mt.set_num_threads(2)
        >>> torch_mt.get_num_threads()
        2
    """
    # The operator would take a bool (or an int-like float) as an int; the
    # range is checked once, in C++ (ValueError).
    if isinstance(num_threads, bool) or not isinstance(num_threads, int):
        raise TypeError(
            "torch_mt.set_num_threads: argument 'num_threads' must be an int, "
            f"got {type(num_threads).__name__}"
        )
    torch.ops.mt.set_num_threads(num_threads)


def reset_num_threads() -> None:
    """Forget a count given to :func:`set_num_threads`: follow the allocation again.

    The count is then ``TORCH_MT_NUM_THREADS`` if that is set, else the CPUs
    this process is allocated (see :func:`get_num_threads`), looked at again
    on every fan-out. Also available to TorchScript as
    ``torch.ops.mt.reset_num_threads``.

    Returns:
        None.

    Raises:
        ValueError: ``TORCH_MT_NUM_THREADS`` is set but not an integer in
            [1, 1024] (raised by the next call that needs the count).

    Example:
        >>> import torch_mt
        >>> torch_mt.set_num_threads(1)
        >>> torch_mt.reset_num_threads()
        >>> torch_mt.get_num_threads() >= 1
        True
    """
    torch.ops.mt.reset_num_threads()


def simd_isa() -> str:
    """Return the instruction set torch_mt's SIMD kernels run in this process.

    Decided once, at the first call of a kernel: ``"avx512"`` where the CPU has
    AVX-512 (F, BW, DQ, VL), else ``"avx2"`` where it has AVX2 (with BMI1/2 and
    POPCNT), else ``"portable"``. ``TORCH_MT_DISABLE_AVX512`` caps it at
    ``"avx2"`` (what AMD Zen 2/3 and older Intel run) and ``TORCH_MT_DISABLE_SIMD``
    at ``"portable"``, each when set to anything but ``""`` and ``"0"``, before
    the process first calls a kernel. Every variant gives the same results.
    Also available to TorchScript as ``torch.ops.mt.simd_isa``.

    Returns:
        ``"avx512"``, ``"avx2"`` or ``"portable"``.

    Raises:
        Nothing: every CPU runs one of the three.

    Example:
        >>> import torch_mt
        >>> torch_mt.simd_isa() in ("avx512", "avx2", "portable")
        True
    """
    return torch.ops.mt.simd_isa()


@contextlib.contextmanager
def num_threads(count: int) -> Iterator[None]:
    """Context manager: run the block with ``count`` torch_mt threads, then restore.

    The setting is process-wide, so other Python threads see it too.

    Args:
        count: the thread count inside the block, an ``int`` in [1, 1024].

    Returns:
        A context manager. On exit, also when the block raises, the previous
        setting comes back: a count set before is set again, and a count that
        followed the allocation follows it again (it is not pinned to the
        value it had on entry).

    Raises:
        TypeError, ValueError: as :func:`set_num_threads`.

    Example:
        >>> import torch_mt
        >>> with torch_mt.num_threads(1):
        ...     torch_mt.get_num_threads()
        1
    """
    with _thread_setting_restored():
        set_num_threads(count)
        yield


@contextlib.contextmanager
def _thread_setting_restored() -> Iterator[None]:
    """Runs the block, then brings back the thread setting it found: a chosen
    count is set again, a count that followed the allocation follows it again."""
    previous = torch.ops.mt.chosen_num_threads()  # None: it followed the allocation
    try:
        yield
    finally:
        if previous is None:
            reset_num_threads()
        else:
            set_num_threads(previous)
