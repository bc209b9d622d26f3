"""Conv1D, pooling and normalization layers against PyTorch in float64: outputs, input
gradients and parameter gradients agree to 1e-7 relative. Skipped without torch."""

import numpy as np
import pytest

from nnlite.layers import (
    AveragePooling1D,
    AveragePooling2D,
    BatchNormalization,
    Conv1D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    LayerNormalization,
    MaxPool1D,
    MaxPool2D,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL = 1e-7


def assert_close(ours, theirs):
    """Agreement to ``RTOL`` relative to the largest value of the reference."""
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == theirs.shape
    scale = max(np.abs(theirs).max(), 1e-300)
    assert np.abs(ours - theirs).max() <= RTOL * scale, np.abs(ours - theirs).max() / scale


def run_ours(layer, x, grad, **call):
    """Forward, then backward of ``sum(grad * y)``: (y, d/dx, {param: d/dparam})."""
    y = layer(x, **call)
    grad_x = layer.backward(grad)
    return y, grad_x, {k: v.copy() for k, v in layer.grads.items()}


def run_theirs(fn, x, grad, *params):
    """The same with a PyTorch function of a channels-last tensor and the given params."""
    x_t = torch.tensor(x, requires_grad=True)
    y_t = fn(x_t)
    (y_t * torch.tensor(grad)).sum().backward()
    return y_t, x_t.grad, [p.grad for p in params]


def channels_first(fn, rank):
    """Wrap ``fn`` (written for PyTorch's channels-first layout) to take and give
    channels-last tensors."""
    to_first = (0, rank + 1, *range(1, rank + 1))
    to_last = (0, *range(2, rank + 2), 1)
    return lambda x: fn(x.permute(*to_first)).permute(*to_last)


def tf_same_pads(size, window, stride, dilation=1):
    span = (window - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


# ---- Conv1D --------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel, stride, dilation, padding", [
    (3, 1, 1, "valid"), (4, 2, 1, "same"), (3, 1, 2, "same"), (3, 1, 3, "causal"),
    (2, 3, 1, "causal"), (5, 1, 1, "same"),
])
def test_conv1d(kernel, stride, dilation, padding, rng):
    n, steps, c, filters = 3, 11, 4, 5
    layer = Conv1D(filters, kernel, strides=stride, dilation_rate=dilation, padding=padding,
                   dtype="float64")
    layer.build((steps, c))
    layer.params["bias"][...] = rng.standard_normal(filters)
    x = rng.standard_normal((n, steps, c))
    grad = rng.standard_normal((n, *layer.output_shape((steps, c))))
    y, grad_x, grads = run_ours(layer, x, grad)

    weight = torch.tensor(layer.params["kernel"].transpose(2, 1, 0).copy(),
                          requires_grad=True)                      # (filters, c, k)
    bias = torch.tensor(layer.params["bias"], requires_grad=True)
    span = (kernel - 1) * dilation
    pads = {"valid": (0, 0), "causal": (span, 0),
            "same": tf_same_pads(steps, kernel, stride, dilation)}[padding]

    def conv(x_t):                                                 # x_t: (n, c, steps)
        return F.conv1d(F.pad(x_t, pads), weight, bias, stride=stride, dilation=dilation)

    y_t, grad_x_t, (grad_w, grad_b) = run_theirs(channels_first(conv, 1), x, grad,
                                                 weight, bias)
    assert_close(y, y_t)
    assert_close(grad_x, grad_x_t)
    assert_close(grads["kernel"], grad_w.permute(2, 1, 0))
    assert_close(grads["bias"], grad_b)


# ---- windowed pooling ----------------------------------------------------------------------

POOL_CASES = [(2, None, "valid"), (3, 2, "valid"), (3, 2, "same"), (2, 1, "same"),
              (3, 1, "same")]


def torch_pool(kind, rank, pool, stride, padding, size):
    """A PyTorch pool with TensorFlow's "same" padding; averages count real values only."""
    stride = stride or pool
    if padding == "same":
        before, after = tf_same_pads(size, pool, stride)
        pads = (before, after) * rank                              # last axes first; square
    else:
        pads = (0, 0) * rank
    pool_fn = {(1, "max"): F.max_pool1d, (2, "max"): F.max_pool2d,
               (1, "avg"): F.avg_pool1d, (2, "avg"): F.avg_pool2d}[rank, kind]

    def fn(x_t):
        if kind == "max":
            return pool_fn(F.pad(x_t, pads, value=-np.inf), pool, stride)
        # Sum of the real values over the number of real values, each from a zero-padded
        # average pool (PyTorch's own padding is symmetric, TensorFlow's is not).
        total = pool_fn(F.pad(x_t, pads), pool, stride)
        count = pool_fn(F.pad(torch.ones_like(x_t), pads), pool, stride)
        return total / count

    return fn


@pytest.mark.parametrize("pool, stride, padding", POOL_CASES)
@pytest.mark.parametrize("cls, kind", [(MaxPool1D, "max"), (AveragePooling1D, "avg")])
def test_pool_1d(cls, kind, pool, stride, padding, rng):
    x = rng.standard_normal((2, 9, 3))
    layer = cls(pool, strides=stride, padding=padding, dtype="float64")
    grad = rng.standard_normal((2, *layer.output_shape((9, 3))))
    y, grad_x, _ = run_ours(layer, x, grad)
    fn = channels_first(torch_pool(kind, 1, pool, stride, padding, 9), 1)
    y_t, grad_x_t, _ = run_theirs(fn, x, grad)
    assert_close(y, y_t)
    assert_close(grad_x, grad_x_t)


@pytest.mark.parametrize("pool, stride, padding", POOL_CASES)
@pytest.mark.parametrize("cls, kind", [(MaxPool2D, "max"), (AveragePooling2D, "avg")])
def test_pool_2d(cls, kind, pool, stride, padding, rng):
    x = rng.standard_normal((2, 7, 7, 3))
    layer = cls(pool, strides=stride, padding=padding, dtype="float64")
    grad = rng.standard_normal((2, *layer.output_shape((7, 7, 3))))
    y, grad_x, _ = run_ours(layer, x, grad)
    fn = channels_first(torch_pool(kind, 2, pool, stride, padding, 7), 2)
    y_t, grad_x_t, _ = run_theirs(fn, x, grad)
    assert_close(y, y_t)
    assert_close(grad_x, grad_x_t)


# ---- global pooling ------------------------------------------------------------------------


@pytest.mark.parametrize("cls, shape, fn", [
    (GlobalAveragePooling1D, (3, 6, 4), lambda x: x.mean(dim=1)),
    (GlobalMaxPooling1D, (3, 6, 4), lambda x: x.max(dim=1).values),
    (GlobalAveragePooling2D, (3, 4, 5, 2), lambda x: x.mean(dim=(1, 2))),
    (GlobalMaxPooling2D, (3, 4, 5, 2), lambda x: x.flatten(1, 2).max(dim=1).values),
])
def test_global_pool(cls, shape, fn, rng):
    x = rng.standard_normal(shape)
    grad = rng.standard_normal((shape[0], shape[-1]))
    y, grad_x, _ = run_ours(cls(dtype="float64"), x, grad)
    y_t, grad_x_t, _ = run_theirs(fn, x, grad)
    assert_close(y, y_t)
    assert_close(grad_x, grad_x_t)


def test_masked_global_average(rng):
    x = rng.standard_normal((3, 5, 2))
    mask = np.array([[1, 1, 0, 0, 0], [0, 1, 1, 1, 1], [1, 0, 1, 0, 1]], bool)
    grad = rng.standard_normal((3, 2))
    y, grad_x, _ = run_ours(GlobalAveragePooling1D(dtype="float64"), x, grad, mask=mask)
    m = torch.tensor(mask, dtype=torch.float64)[:, :, None]
    y_t, grad_x_t, _ = run_theirs(lambda x_t: (x_t * m).sum(dim=1) / m.sum(dim=1), x, grad)
    assert_close(y, y_t)
    assert_close(grad_x, grad_x_t)


# ---- normalization -------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(6, 4), (3, 5, 4), (2, 3, 5, 4)])
def test_batch_normalization_training(shape, rng):
    layer = BatchNormalization(momentum=0.9, epsilon=1e-3, dtype="float64")
    layer.build(shape[1:])
    layer.params["gamma"][...] = rng.standard_normal(4)
    layer.params["beta"][...] = rng.standard_normal(4)
    x = rng.standard_normal(shape) * 2.0 + 0.5
    grad = rng.standard_normal(shape)
    y, grad_x, grads = run_ours(layer, x, grad, training=True)

    rank = len(shape) - 2
    bn = (torch.nn.BatchNorm1d if rank <= 1 else torch.nn.BatchNorm2d)(
        4, eps=1e-3, momentum=0.1, dtype=torch.float64)             # PyTorch: 1 - momentum
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(layer.params["gamma"]))
        bn.bias.copy_(torch.tensor(layer.params["beta"]))
    bn.train()
    fn = bn if rank == 0 else channels_first(bn, rank)
    y_t, grad_x_t, (grad_gamma, grad_beta) = run_theirs(fn, x, grad, bn.weight, bn.bias)
    assert_close(y, y_t)
    assert_close(grad_x, grad_x_t)
    assert_close(grads["gamma"], grad_gamma)
    assert_close(grads["beta"], grad_beta)
    # The moving mean follows the same update; PyTorch's running variance uses the
    # unbiased variance, Keras' (and ours) the biased one, so only the mean is compared.
    assert_close(layer.state["moving_mean"], bn.running_mean)


@pytest.mark.parametrize("shape", [(5, 6), (3, 4, 6), (2, 3, 2, 6)])
def test_layer_normalization(shape, rng):
    layer = LayerNormalization(epsilon=1e-3, dtype="float64")
    layer.build(shape[1:])
    layer.params["gamma"][...] = rng.standard_normal(6)
    layer.params["beta"][...] = rng.standard_normal(6)
    x = rng.standard_normal(shape) * 3.0 - 1.0
    grad = rng.standard_normal(shape)
    y, grad_x, grads = run_ours(layer, x, grad)
    weight = torch.tensor(layer.params["gamma"], requires_grad=True)
    bias = torch.tensor(layer.params["beta"], requires_grad=True)
    y_t, grad_x_t, (grad_w, grad_b) = run_theirs(
        lambda x_t: F.layer_norm(x_t, (6,), weight, bias, eps=1e-3), x, grad, weight, bias)
    assert_close(y, y_t)
    assert_close(grad_x, grad_x_t)
    assert_close(grads["gamma"], grad_w)
    assert_close(grads["beta"], grad_b)


def test_masked_batch_normalization_training(rng):
    # PyTorch has no masked batch norm: its statistics come from the real steps by hand
    # (torch.var with correction=0 is the biased variance), then every step is normalised.
    x = rng.standard_normal((3, 5, 4)) * 2.0 + 0.5
    mask = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 1], [1, 0, 1, 0, 1]], bool)
    grad = rng.standard_normal(x.shape)
    layer = BatchNormalization(momentum=0.9, dtype="float64")
    layer.build((5, 4))
    layer.params["gamma"][...] = rng.standard_normal(4)
    layer.params["beta"][...] = rng.standard_normal(4)
    y, grad_x, grads = run_ours(layer, x, grad, training=True, mask=mask)
    weight = torch.tensor(layer.params["gamma"], requires_grad=True)
    bias = torch.tensor(layer.params["beta"], requires_grad=True)
    real = torch.tensor(mask)

    def masked_bn(x_t):
        mean = x_t[real].mean(dim=0)
        var = x_t[real].var(dim=0, correction=0)
        return (x_t - mean) / torch.sqrt(var + 1e-3) * weight + bias

    y_t, grad_x_t, (grad_w, grad_b) = run_theirs(masked_bn, x, grad, weight, bias)
    assert_close(y, y_t)
    assert_close(grad_x, grad_x_t)
    assert_close(grads["gamma"], grad_w)
    assert_close(grads["beta"], grad_b)
    assert_close(layer.state["moving_mean"], 0.1 * x[mask].mean(axis=0))
