"""DTW and soft-DTW beyond the generic suite: outside references (dtaidistance,
tslearn), path properties, and autograd everywhere (gradcheck, compile,
TorchScript, no_grad)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from dtaidistance import dtw as dtaidistance_dtw
from hypothesis import given, settings
from hypothesis import strategies as st
from scripts import json_per_isa

import torch_mt
from torch_mt.testing import THREAD_COUNTS, cost_batches, results_for_thread_counts

series = st.lists(st.floats(-10, 10, allow_nan=False, width=32), min_size=1, max_size=30)


def squared_differences(x: list[float], y: list[float]) -> torch.Tensor:
    x_t, y_t = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    return ((x_t.unsqueeze(1) - y_t.unsqueeze(0)) ** 2).unsqueeze(0)


@given(x=series, y=series)
def test_dtw_matches_dtaidistance(x, y):
    # dtaidistance returns sqrt of the DTW of squared differences.
    expected = dtaidistance_dtw.distance_fast(
        np.array(x, dtype=np.double), np.array(y, dtype=np.double), use_pruning=False
    )
    actual = math.sqrt(torch_mt.dtw(squared_differences(x, y)).item())
    assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=50)
@given(
    cost=st.integers(1, 8)
    .flatmap(lambda n: st.integers(1, 8).map(lambda m: (n, m)))
    .flatmap(
        lambda shape: st.lists(
            st.floats(0, 20, allow_nan=False),
            min_size=shape[0] * shape[1],
            max_size=shape[0] * shape[1],
        ).map(lambda values: torch.tensor(values, dtype=torch.float64).reshape(shape))
    ),
    gamma=st.sampled_from([0.01, 0.1, 1.0, 10.0]),
)
def test_soft_dtw_value_and_gradient_match_tslearn(cost, gamma):
    from tslearn.metrics import SoftDTW

    reference = SoftDTW(cost.numpy(), gamma=gamma)
    expected_value = reference.compute()
    leaf = cost.unsqueeze(0).requires_grad_()
    value = torch_mt.soft_dtw(leaf, gamma=gamma)
    value.sum().backward()
    assert math.isclose(value.item(), expected_value, rel_tol=1e-9, abs_tol=1e-9)
    torch.testing.assert_close(
        leaf.grad[0], torch.from_numpy(reference.grad()), rtol=1e-7, atol=1e-9
    )


@given(batch=cost_batches())
def test_dtw_path_is_a_monotone_path_whose_cost_is_dtw(batch):
    cost, n_lengths, m_lengths = batch
    mask = torch_mt.dtw_path(cost, n_lengths=n_lengths, m_lengths=m_lengths)
    values = torch_mt.dtw(cost, n_lengths=n_lengths, m_lengths=m_lengths).double()
    for b in range(cost.shape[0]):
        n = int(n_lengths[b]) if n_lengths is not None else cost.shape[1]
        m = int(m_lengths[b]) if m_lengths is not None else cost.shape[2]
        cells = mask[b].nonzero().tolist()
        assert all(i < n and j < m for i, j in cells), "path leaves the item's block"
        if n == 0 or m == 0 or values[b] == math.inf:
            assert cells == []
            continue
        assert cells[0] == [0, 0] and cells[-1] == [n - 1, m - 1]
        for (i, j), (k, column) in zip(cells, cells[1:]):  # row-major order is path order
            assert (k - i, column - j) in {(0, 1), (1, 0), (1, 1)}, (cells, (i, j), (k, column))
        path_cost = sum(cost[b, i, j].double().item() for i, j in cells)
        assert math.isclose(path_cost, values[b].item(), rel_tol=1e-6, abs_tol=1e-6)


@given(batch=cost_batches(), gamma=st.sampled_from([1e-3, 0.01, 0.1, 1.0]))
def test_soft_dtw_lies_between_dtw_and_its_smoothing_bound(batch, gamma):
    # softmin(a, b, c) is in [min - gamma log 3, min], and a path has at most
    # n + m - 1 cells, so dtw - gamma log(3) (n + m) <= soft_dtw <= dtw.
    cost, n_lengths, m_lengths = batch
    cost = cost.double()
    hard = torch_mt.dtw(cost, n_lengths=n_lengths, m_lengths=m_lengths)
    soft = torch_mt.soft_dtw(cost, gamma=gamma, n_lengths=n_lengths, m_lengths=m_lengths)
    n = n_lengths if n_lengths is not None else torch.full_like(hard, cost.shape[1])
    m = m_lengths if m_lengths is not None else torch.full_like(hard, cost.shape[2])
    finite = torch.isfinite(hard)
    assert torch.equal(torch.isfinite(soft), finite)
    bound = gamma * math.log(3) * (n + m).double()
    assert (soft[finite] <= hard[finite] + 1e-9 * hard[finite].abs().clamp(min=1)).all()
    assert (soft[finite] >= hard[finite] - bound[finite] - 1e-9).all()


def test_soft_dtw_is_stable_for_tiny_gamma():
    cost = torch.rand(4, 30, 40, dtype=torch.float64, requires_grad=True) * 100
    cost.retain_grad()
    value = torch_mt.soft_dtw(cost, gamma=1e-4)
    value.sum().backward()
    assert torch.isfinite(value).all() and torch.isfinite(cost.grad).all()
    torch.testing.assert_close(value, torch_mt.dtw(cost.detach()), rtol=0, atol=1e-4 * 70 * 1.1)


# ---- autograd -------------------------------------------------------------------------


@st.composite
def differentiable_batch(draw):
    cost, n_lengths, m_lengths = draw(cost_batches())
    # Finite differences need finite entries (forbidden cells are compared
    # with autograd's gradients in the generic suite instead): padding and
    # +inf become ordinary costs. Contiguous: gradcheck refuses overlapping strides.
    cost = cost.double().nan_to_num(nan=0.0, posinf=50.0).contiguous()
    return cost.requires_grad_(), draw(st.sampled_from([0.1, 0.5, 2.0])), n_lengths, m_lengths


@settings(max_examples=30)
@given(batch=differentiable_batch())
def test_gradcheck_and_gradgradcheck(batch):
    cost, gamma, n_lengths, m_lengths = batch
    if cost.numel() == 0:
        return  # nothing to differentiate (gradcheck refuses zero-stride empties)

    # Items with no path (one side empty) have value +inf: no finite differences.
    finite = torch.isfinite(
        torch_mt.soft_dtw(cost.detach(), gamma=gamma, n_lengths=n_lengths, m_lengths=m_lengths)
    )

    def value(c):
        return torch_mt.soft_dtw(c, gamma=gamma, n_lengths=n_lengths, m_lengths=m_lengths)[finite]

    assert torch.autograd.gradcheck(value, (cost,))
    assert torch.autograd.gradgradcheck(value, (cost,))


@settings(max_examples=8)
@given(batch=differentiable_batch())
def test_opcheck_with_gradients(batch):
    cost, gamma, n_lengths, m_lengths = batch
    torch.library.opcheck(torch.ops.mt.soft_dtw.default, (cost, gamma, n_lengths, m_lengths))
    grad = torch.randn(cost.shape[0], dtype=torch.float64, requires_grad=True)
    torch.library.opcheck(
        torch.ops.mt.soft_dtw_backward.default, (grad, cost, gamma, n_lengths, m_lengths)
    )


def test_third_derivative_raises_a_clear_error():
    cost = torch.rand(2, 3, 4, dtype=torch.float64, requires_grad=True)
    (first,) = torch.autograd.grad(
        torch_mt.soft_dtw(cost, gamma=1.0).sum(), cost, create_graph=True
    )
    (second,) = torch.autograd.grad((first**2).sum(), cost, create_graph=True)
    with pytest.raises(RuntimeError, match="mt::soft_dtw: third and higher derivatives"):
        torch.autograd.grad(second.sum(), cost)


class SoftDtwModel(torch.nn.Module):
    """Features of x, aligned to targets y under the soft-DTW loss."""

    def __init__(self) -> None:
        super().__init__()
        self.project = torch.nn.Linear(3, 2, dtype=torch.float64)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        cost = torch.cdist(self.project(x), y) ** 2
        return torch.ops.mt.soft_dtw(cost, 0.5, None, None).sum()


def gradients(model: torch.nn.Module, run, x, y) -> list[torch.Tensor]:
    model.zero_grad()
    run(x, y).backward()
    return [p.grad.clone() for p in model.parameters()]


@pytest.fixture(scope="module")
def model_and_data():
    torch.manual_seed(0)
    return (
        SoftDtwModel(),
        torch.randn(4, 12, 3, dtype=torch.float64),
        torch.randn(4, 9, 2, dtype=torch.float64),
    )


def test_gradients_identical_in_eager_aot_eager_and_torchscript(model_and_data):
    model, x, y = model_and_data
    eager = gradients(model, model, x, y)
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    scripted = torch.jit.script(model)
    for other in (gradients(model, compiled, x, y), gradients(model, scripted, x, y)):
        for mine, theirs in zip(eager, other):
            assert torch.equal(mine, theirs)


@pytest.mark.inductor
def test_gradients_match_under_inductor(model_and_data):
    model, x, y = model_and_data
    eager = gradients(model, model, x, y)
    compiled = torch.compile(model, fullgraph=True)
    # Our kernels' gradients are the same; inductor generates its own code for
    # the Linear layer and the sums around them, whose float64 reductions
    # differ in order (measured: bias gradient off by 3.6e-15).
    for mine, theirs in zip(eager, gradients(model, compiled, x, y)):
        torch.testing.assert_close(theirs, mine, rtol=1e-12, atol=1e-12)


def test_scripted_model_trains_from_python(model_and_data, tmp_path):
    model, x, y = model_and_data
    torch.jit.save(torch.jit.script(SoftDtwModel()), tmp_path / "model.pt")
    scripted = torch.jit.load(tmp_path / "model.pt")
    optimizer = torch.optim.SGD(scripted.parameters(), lr=0.01)
    losses = []
    for _ in range(20):
        optimizer.zero_grad()
        loss = scripted(x, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def count_saved_tensors(run) -> int:
    saved = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        run()
    return len(saved)


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode])
def test_nothing_is_saved_without_grad_mode(mode):
    cost = torch.rand(3, 5, 6, dtype=torch.float64, requires_grad=True)
    # With grad mode on, the cost is saved for the backward kernel ...
    assert count_saved_tensors(lambda: torch_mt.soft_dtw(cost, gamma=1.0)) > 0
    # ... and under no_grad / inference_mode nothing is, and no graph is built.
    with mode():
        assert count_saved_tensors(lambda: torch_mt.soft_dtw(cost, gamma=1.0)) == 0
        assert not torch_mt.soft_dtw(cost, gamma=1.0).requires_grad


@settings(max_examples=10)
@given(batch=cost_batches(large=True), gamma=st.sampled_from([0.1, 1.0]))
def test_gradient_is_identical_for_any_thread_count(batch, gamma):
    cost, n_lengths, m_lengths = batch
    cost = cost.nan_to_num(nan=0.0, posinf=math.inf).requires_grad_()

    def gradient(c):
        (grad,) = torch.autograd.grad(
            torch_mt.soft_dtw(c, gamma=gamma, n_lengths=n_lengths, m_lengths=m_lengths).sum(), c
        )
        return grad

    first, *others = results_for_thread_counts(gradient, (cost,), THREAD_COUNTS)
    for other in others:
        assert torch.equal(other, first)


# ---- DTW and soft-DTW straight from series -------------------------------------------

multivariate = st.integers(1, 4).flatmap(
    lambda d: st.tuples(
        *(
            st.integers(1, 12).flatmap(
                lambda n: st.lists(
                    st.floats(-10, 10, allow_nan=False, width=32), min_size=n * d, max_size=n * d
                ).map(lambda values: torch.tensor(values, dtype=torch.float64).view(-1, d))
            )
            for _ in range(2)
        )
    )
)


@given(x=series, y=series)
def test_dtw_series_matches_dtaidistance(x, y):
    expected = dtaidistance_dtw.distance_fast(
        np.array(x, dtype=np.double), np.array(y, dtype=np.double), use_pruning=False
    )
    as_steps = lambda values: torch.tensor(values, dtype=torch.float64).view(1, -1, 1)  # noqa: E731
    actual = math.sqrt(torch_mt.dtw_series(as_steps(x), as_steps(y)).item())
    assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=50)
@given(pair=multivariate, gamma=st.sampled_from([0.01, 0.1, 1.0, 10.0]))
def test_soft_dtw_series_value_and_gradients_match_tslearn(pair, gamma):
    # tslearn: SoftDTW on its SquaredEuclidean costs, chained back to x by
    # the metric's jacobian_product (its gradient with respect to x).
    from tslearn.metrics.softdtw_variants import SoftDTW, SquaredEuclidean

    x, y = pair
    metric = SquaredEuclidean(x.numpy(), y.numpy())
    reference = SoftDTW(metric.compute(), gamma=gamma)
    expected_value = reference.compute()
    expected_grad_x = torch.from_numpy(metric.jacobian_product(reference.grad()))
    x_leaf, y_leaf = x.unsqueeze(0).requires_grad_(), y.unsqueeze(0).requires_grad_()
    value = torch_mt.soft_dtw_series(x_leaf, y_leaf, gamma=gamma)
    value.sum().backward()
    assert math.isclose(value.item(), expected_value, rel_tol=1e-9, abs_tol=1e-9)
    scale = max(1.0, expected_grad_x.abs().max().item())
    torch.testing.assert_close(x_leaf.grad[0], expected_grad_x, rtol=1e-7, atol=1e-9 * scale)


@settings(max_examples=30)
@given(pair=multivariate, gamma=st.sampled_from([0.1, 1.0]))
def test_series_ops_equal_the_cost_ops_on_cdist_squared(pair, gamma):
    x, y = (t.unsqueeze(0) for t in pair)
    cost = (torch.cdist(x, y) ** 2).detach().requires_grad_()
    torch.testing.assert_close(torch_mt.dtw_series(x, y), torch_mt.dtw(cost.detach()))
    x_leaf, y_leaf = x.clone().requires_grad_(), y.clone().requires_grad_()
    torch_mt.soft_dtw_series(x_leaf, y_leaf, gamma=gamma).sum().backward()
    torch_mt.soft_dtw(cost, gamma=gamma).sum().backward()
    # Chain rule through the cost by hand: d cost(i, j) / d x_i = 2 (x_i - y_j).
    difference = x.unsqueeze(2) - y.unsqueeze(1)  # [1, N, M, D]
    expected_grad_x = (2 * cost.grad.unsqueeze(-1) * difference).sum(dim=2)
    expected_grad_y = -(2 * cost.grad.unsqueeze(-1) * difference).sum(dim=1)
    torch.testing.assert_close(x_leaf.grad, expected_grad_x, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(y_leaf.grad, expected_grad_y, rtol=1e-9, atol=1e-9)


_SOFT_DTW_SERIES_CASES = """
import json, torch, torch_mt
generator = torch.Generator().manual_seed(0)
cases = []
# D = 16 and 1, ragged lengths (lanes past their item), a small gamma
# (terms near exp's underflow) and an item with no path (+inf, zero gradient).
for features, gamma in ((16, 1.0), (1, 0.01), (3, 0.1)):
    x = torch.randn(7, 40, features, generator=generator, dtype=torch.float64) * 3
    y = torch.randn(7, 33, features, generator=generator, dtype=torch.float64) * 3
    x_lengths = torch.tensor([40, 1, 17, 40, 0, 39, 2])
    y_lengths = torch.tensor([33, 33, 1, 20, 5, 33, 31])
    x.requires_grad_()
    value = torch_mt.soft_dtw_series(x, y, gamma=gamma, x_lengths=x_lengths, y_lengths=y_lengths)
    value.sum().backward()
    cases.append([value.tolist(), x.grad.flatten().tolist()])
print(json.dumps(cases))
"""


def test_soft_dtw_series_variants_agree():
    # The AVX2 and AVX-512 variants run the same vector exp and log
    # (lane_math.h): the same bits. The portable code calls libm's, which
    # differ in the last bit or so.
    outputs = json_per_isa(_SOFT_DTW_SERIES_CASES)
    assert outputs["native"] == outputs["avx2"]
    for simd_case, portable_case in zip(outputs["native"], outputs["portable"]):
        for simd_part, portable_part in zip(simd_case, portable_case):
            torch.testing.assert_close(
                torch.tensor(simd_part, dtype=torch.float64),
                torch.tensor(portable_part, dtype=torch.float64),
                rtol=1e-12,
                atol=1e-12,
            )


@settings(max_examples=20)
@given(pair=multivariate, gamma=st.sampled_from([0.1, 0.5, 2.0]))
def test_soft_dtw_series_gradcheck_and_opcheck(pair, gamma):
    x, y = (t.unsqueeze(0).requires_grad_() for t in pair)
    assert torch.autograd.gradcheck(
        lambda a, b: torch_mt.soft_dtw_series(a, b, gamma=gamma), (x, y)
    )
    torch.library.opcheck(torch.ops.mt.soft_dtw_series.default, (x, y, gamma, None, None))


def test_soft_dtw_series_second_derivative_raises_a_clear_error():
    x = torch.rand(2, 3, 2, dtype=torch.float64, requires_grad=True)
    y = torch.rand(2, 4, 2, dtype=torch.float64)
    (first,) = torch.autograd.grad(
        torch_mt.soft_dtw_series(x, y, gamma=1.0).sum(), x, create_graph=True
    )
    with pytest.raises(RuntimeError, match="mt::soft_dtw_series: second derivatives are not"):
        torch.autograd.grad(first.sum(), x)
