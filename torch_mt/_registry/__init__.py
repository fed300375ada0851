"""One OpSpec per operator, one module per operator family: the test suite's registry.

Each family module beside this one (``sequences``, ``detection``, ...) holds
its operators' specs (``SPECS``: reference, hypothesis strategy, bad inputs)
and benchmark workloads (``workloads(quick)``); this package collects them,
so adding an operator adds to its family module and nowhere else here.
``tests/test_ops_generic.py`` checks every spec against its reference, across
thread counts, with opcheck, torch.compile, TorchScript and its bad inputs.
Needs the ``test`` extra (hypothesis).
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from ..testing import BadInput, OpSpec

__all__ = ["REGISTRY", "BadInput", "OpSpec", "family_modules"]


def family_modules() -> list[ModuleType]:
    """Every family module of the registry (each module here)."""
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name)
    ]


REGISTRY: list[OpSpec] = [spec for module in family_modules() for spec in module.SPECS]
