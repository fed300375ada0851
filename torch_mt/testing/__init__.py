"""The property harness of torch_mt operators, yours included: strategies,
checks, the ``OpSpec`` type and the tests the built-in suite runs.

Needs the ``test`` extra (hypothesis, pytest). Describe your operator with an
``OpSpec`` (independent reference, strategy with a ``large`` variant that fans
out, bad inputs with their messages) and get the built-in suite's properties
for it: the reference at several thread counts, bitwise equality across
thread counts, opcheck, torch.compile (fullgraph), TorchScript save/load in a
fresh process, every bad input's message eagerly and compiled::

    from torch_mt.testing import OpSpec, operator_tests
    MY_SPECS = [OpSpec(name="my_op", namespace="mine", reference=..., sample_args=...,
                       bad_inputs=..., setup_code="import my_package")]
    globals().update(operator_tests(MY_SPECS))   # in a test module

Strategies to build ``sample_args`` from (the built-in specs use them):
:func:`padded_sequences` (ragged integer batches with lengths),
:func:`cost_batches` (padded ``[B, N, M]`` cost matrices with lengths, ties,
forbidden cells), :func:`boxes_and_scores` (detections with duplicates and
degenerate boxes), :func:`with_layout` over :data:`LAYOUTS` (the same values
strided, transposed or offset) and :func:`thread_counts`.

``tests/test_ops_generic.py`` runs torch_mt's own operators through exactly this.
"""

from .harness import (
    BadInput,
    OpSpec,
    assert_identical,
    assert_matches,
    check_bad_inputs,
    check_bad_inputs_compiled,
    check_compiles,
    check_matches_reference,
    check_opcheck,
    check_operator,
    check_same_result_for_any_thread_count,
    check_torchscript_save_then_load_in_fresh_process,
    check_wrapper_matches_operator,
    compiled,
    operator_tests,
    registered_specs,
    results_for_thread_counts,
)
from .strategies import (
    LAYOUTS,
    THREAD_COUNTS,
    boxes_and_scores,
    cost_batches,
    padded_sequences,
    random_boxes,
    random_scores,
    rows_of,
    thread_counts,
    with_layout,
)

__all__ = [
    "LAYOUTS",
    "THREAD_COUNTS",
    "BadInput",
    "OpSpec",
    "assert_identical",
    "assert_matches",
    "boxes_and_scores",
    "check_bad_inputs",
    "check_bad_inputs_compiled",
    "check_compiles",
    "check_matches_reference",
    "check_opcheck",
    "check_operator",
    "check_same_result_for_any_thread_count",
    "check_torchscript_save_then_load_in_fresh_process",
    "check_wrapper_matches_operator",
    "compiled",
    "cost_batches",
    "operator_tests",
    "padded_sequences",
    "random_boxes",
    "random_scores",
    "registered_specs",
    "results_for_thread_counts",
    "rows_of",
    "thread_counts",
    "with_layout",
]
