"""Conv1D and Conv2D on channels-last inputs, lowered to GEMM over im2col patches."""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from nnlite import _parallel as parallel
from nnlite import activations, initializers
from nnlite._utils import positive_int
from nnlite.layers import _windows
from nnlite.layers.base import Layer


class _Conv(Layer):
    """What Conv1D and Conv2D share: both run on a ``(n, h, w, c)`` image, a 1-D input being
    its ``(n, 1, steps, c)`` view with a kernel of height 1.

    Each output pixel's receptive field becomes one row of ``k = kh*kw*c`` values (plus a 1
    for the bias), so the forward is one GEMM and the backward two, one for the weights and
    one for the patches, which col2im sums back onto the input. Subclasses set ``rank`` and,
    in their constructor, the 2-D ``_window``, ``_strides`` and ``_dilation`` and ``padding``.
    """

    fusable = True
    skips_input_grad = True
    defers_activation = True
    groups_windows = True
    threading = "split"
    rank = 2

    def __init__(self, filters, activation, use_bias, kernel_initializer, **kwargs):
        super().__init__(**kwargs)
        self.filters = positive_int(type(self).__name__, "filters", filters)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self._init = initializers.get(kernel_initializer)
        self._scratch = _windows.Scratch()

    def build(self, input_shape):
        _windows.check_build(self, input_shape, self.rank)
        spans = [(k - 1) * d + 1 for k, d in zip(self._window, self._dilation, strict=True)]
        shown = self.kernel_size
        if self._dilation != (1, 1):
            shown = f"{shown} with dilation_rate {self.dilation_rate} (spanning {spans[-1]})"
        _windows.check_fits(self, input_shape[:-1], spans[-self.rank:], "kernel_size", shown)
        super().build(input_shape)
        kernel_shape = (*self._window[-self.rank:], self.input_shape[-1], self.filters)
        self._add_param("kernel", kernel_shape, self._init)
        if self.use_bias:
            self._add_param("bias", (self.filters,), initializers.zeros)

    def forward(self, x, training=False, activate=True, pool_window=None):
        """Convolve ``x``; with ``activate=False`` return the pre-activation (a model does
        this when the next layer applies the activation, see ``MaxPool2D.forward``).

        With ``pool_window=(ph, pw)`` the output is ``(n, ph*pw, oh // ph, ow // pw,
        filters)``: the pixels grouped by their place in the windows of a max-pool that
        follows (see ``_windows.Grid.pooled``), which pools them as contiguous blocks.
        """
        x4 = x if self.rank == 2 else x[:, None]                   # (n, 1, steps, c) view
        (oh, ow), pads = self._geometry(x4.shape)
        grid = (_windows.Grid.plain((oh, ow)) if pool_window is None
                else _windows.Grid.pooled((oh, ow), pool_window))
        n, per = x4.shape[0], grid.rows                            # per: output rows a sample
        weights = self._weights()                                  # (k[+1], filters)
        xp = _windows.pad_buffer(x4.shape, pads, 0.0, x.dtype, self._scratch)
        cols = _cols_buffer(n * per, weights.shape[0], x4.shape[-1], self.use_bias, x.dtype,
                            self._scratch)                         # (n*oh*ow, k[+1])
        z = np.empty((n * per, self.filters), x.dtype)

        def work(s):   # one shard of samples: im2col and the GEMM
            rows = slice(s.start * per, s.stop * per)
            xs = x4[s] if xp is None else _windows.pad_into(x4[s], xp[s], pads)
            _im2col(xs, cols[rows], self._window, self._strides, self._dilation, grid)
            np.matmul(cols[rows], weights, out=z[rows])  # (r, k[+1]) @ (k[+1], f)

        parallel.run(work, parallel.shards(n, per * (len(weights) + self.filters)))
        y = parallel.map_rows(self.activation.forward, z, size=self.filters) if activate else z
        if pool_window is None:
            shape = (n, *(oh, ow)[-self.rank:], self.filters)      # (n, [oh,] ow, f)
        else:
            shape = (n, len(grid.offsets), *grid.size, self.filters)   # (n, ph*pw, gh, gw, f)
        z, y = z.reshape(shape), y.reshape(shape)
        self._cache = (x4.shape, pads, grid, cols, z, y, activate)
        return y

    def backward(self, grad_output, fused=False, input_grad=True):
        x_shape, pads, grid, cols, z, y, activated = self._cached()
        n, per = x_shape[0], len(cols) // x_shape[0]
        parts = parallel.shards(n, per * (cols.shape[1] + self.filters))
        grad_z = grad_output
        if activated and not fused:
            grad_z = parallel.map_rows(self.activation.backward, z, y, grad_output,
                                       size=z[0].size)
        grad_z2 = grad_z.reshape(-1, self.filters)                 # (n*oh*ow, filters)

        def weight_grad(s):   # this shard's share of the sum over output pixels
            rows = slice(s.start * per, s.stop * per)
            if cols.flags.f_contiguous:   # im2col's transposed layout (one input channel)
                return cols[rows].T @ grad_z2[rows]   # (k[+1], r) @ (r, filters)
            # (grad_z^T cols)^T rather than cols^T grad_z: OpenBLAS is 15-25% faster at this
            # long-reduction product with the wide operand on the right.
            # (filters, r) @ (r, k[+1]) -> transposed view (k[+1], filters)
            return (grad_z2[rows].T @ cols[rows]).T

        grad_weights = sum(parallel.run(weight_grad, parts))
        kernel = self.params["kernel"]
        kernel2 = kernel.reshape(-1, self.filters)                 # (k, filters)
        self.grads["kernel"] = np.ascontiguousarray(
            grad_weights[:len(kernel2)]).reshape(kernel.shape)
        if self.use_bias:
            self.grads["bias"] = grad_weights[-1]   # the ones column: sum of grad_z per filter
        if not input_grad:   # the model's first layer in training: its input is data
            return None
        # One GEMM per kernel offset, not one with the (kh, kw, c) columns side by side: each
        # offset's (n*oh*ow, c) gradient is then contiguous, which makes col2im's adds fast.
        (kh, kw), c = self._window, x_shape[-1]
        kernel3 = kernel.reshape(kh * kw, c, self.filters).transpose(0, 2, 1)  # (kh*kw, f, c)
        grad_cols = self._scratch.buffer("grad_cols", (kh * kw, len(grad_z2), c), grad_z.dtype)
        (top, bottom), (left, right) = pads
        grad_xp = np.empty((n, x_shape[1] + top + bottom, x_shape[2] + left + right, c),
                           grad_z.dtype)

        grouped = grad_z.reshape(n, len(grid.offsets), *grid.size, self.filters)

        def input_grad_shard(s):
            rows = slice(s.start * per, s.stop * per)
            # Pixels grouped by pooling window go back to image order first: col2im's adds
            # then run over whole image rows, not every other pixel (0.54 ms against
            # 1.17 ms a 32-image shard of the benchmark's second layer, plus 0.06 ms for
            # the reordering).
            image, plain = grid.in_image_order(grouped[s])         # (n_s, h', w', f)
            # (r, f) @ (kh*kw, f, c) -> (kh*kw, r, c)
            np.matmul(image.reshape(-1, self.filters), kernel3, out=grad_cols[:, rows])
            _col2im(grad_cols[:, rows], grad_xp[s], self._window, self._strides,
                    self._dilation, plain)

        parallel.run(input_grad_shard, parts)
        grad_x = grad_xp[:, top:top + x_shape[1], left:left + x_shape[2], :]
        return grad_x if self.rank == 2 else grad_x[:, 0]

    def _geometry(self, x4_shape):
        return _windows.geometry(x4_shape, self._window, self._strides, self.padding,
                                 self._dilation)

    def _weights(self):
        """The kernel as a ``(k, filters)`` matrix, ``k = kh*kw*c``, with the bias as one
        more row: im2col's column of ones turns the bias add into part of the GEMM."""
        kernel2 = self.params["kernel"].reshape(-1, self.filters)  # ([kh,] kw, c, f) -> (k, f)
        if not self.use_bias:
            return kernel2
        return np.concatenate([kernel2, self.params["bias"][None, :]])   # (k + 1, filters)

    def output_shape(self, input_shape):
        spatial = (1, *input_shape[:-1])[-2:]
        out_hw, _ = self._geometry((None, *spatial, input_shape[-1]))
        return (*out_hw[-self.rank:], self.filters)

    def _check_input(self, x):
        _windows.check_input(self, x, self.rank)
        if self.built and x.shape[-1] != self.input_shape[-1]:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} was built for {self.input_shape[-1]} "
                f"input channels, got input of shape {x.shape}."
            )

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, **self._extra_config(),
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": self.kernel_initializer}

    def _extra_config(self):
        return {}


class Conv1D(_Conv):
    """1-D convolution over time ``y[t] = act(sum_j x[t*s + j*d] @ kernel[j] + bias)``.

    The same im2col/GEMM path as Conv2D, on the input seen as an image of height 1. Like
    Keras it is a cross-correlation (the kernel is not flipped). ``"same"`` pads as
    TensorFlow does (the odd step at the end) and gives ``ceil(steps / stride)`` outputs;
    ``"causal"`` pads ``(kernel_size - 1) * dilation_rate`` zeros before the first step only,
    so output ``t`` depends on no input after step ``t * stride`` (WaveNet-style stacks).

    Args:
        filters: number of output channels.
        kernel_size: int (or a 1-tuple) number of taps.
        strides: int step between outputs.
        padding: ``"valid"``, ``"same"`` or ``"causal"``.
        dilation_rate: int spacing between taps; cannot be combined with ``strides > 1``
            (Keras refuses it too).
        activation: name or object from ``nnlite.activations`` (None is linear).
        use_bias: add a learned bias per filter.
        kernel_initializer: name or callable for the kernel (bias starts at zero).

    Raises:
        ValueError: for a non-positive ``filters``, kernel size, stride or dilation, strides
            and dilation both above 1, an unknown padding, and (when called) an input that is
            not ``(batch, steps, channels)``, has another channel count than the layer was
            built for, or is shorter than a "valid" (dilated) kernel.

    Shapes:
        x: (n, steps, c) -> (n, out_steps, filters). Params: kernel (k, c, filters),
        bias (filters,).
    """

    rank = 1

    def __init__(self, filters, kernel_size, strides=1, padding="valid", dilation_rate=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 **kwargs):
        self.kernel_size = _windows.single("Conv1D", "kernel_size", kernel_size)
        self.strides = _windows.single("Conv1D", "strides", strides)
        self.dilation_rate = _windows.single("Conv1D", "dilation_rate", dilation_rate)
        if self.strides > 1 and self.dilation_rate > 1:
            raise ValueError(
                f"Conv1D: strides > 1 cannot be combined with dilation_rate > 1 (got "
                f"strides={strides!r}, dilation_rate={dilation_rate!r}), as in Keras; use one "
                f"of them."
            )
        self.padding = _windows.padding_mode("Conv1D", padding, ("valid", "same", "causal"))
        self._window = (1, self.kernel_size)
        self._strides = (1, self.strides)
        self._dilation = (1, self.dilation_rate)
        super().__init__(filters, activation, use_bias, kernel_initializer, **kwargs)

    def _extra_config(self):
        return {"dilation_rate": self.dilation_rate}


class Conv2D(_Conv):
    """2-D convolution ``y = act(conv(x, kernel) + bias)``, as one GEMM over im2col patches.

    Like Keras (and every framework) this is a cross-correlation: the kernel is not flipped.
    ``padding="same"`` pads as TensorFlow does, the odd row/column at the bottom/right, so
    the output has ``ceil(size / stride)`` rows and columns.

    Args:
        filters: number of output channels.
        kernel_size: int or pair ``(kh, kw)``.
        strides: int or pair ``(sh, sw)``.
        padding: ``"valid"`` (no padding) or ``"same"``.
        activation: name or object from ``nnlite.activations`` (None is linear).
        use_bias: add a learned bias per filter.
        kernel_initializer: name or callable for the kernel (bias starts at zero).

    Raises:
        ValueError: for a non-positive ``filters``, kernel size or stride, an unknown
            padding, and (when called) an input that is not ``(batch, h, w, c)``, has another
            channel count than the layer was built for, or is smaller than a "valid" kernel.

    Shapes:
        x: (n, h, w, c) -> (n, oh, ow, filters). Params: kernel (kh, kw, c, filters),
        bias (filters,).
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", **kwargs):
        self.kernel_size = _windows.pair("Conv2D", "kernel_size", kernel_size)
        self.strides = _windows.pair("Conv2D", "strides", strides)
        self.padding = _windows.padding_mode("Conv2D", padding)
        self._window, self._strides, self._dilation = self.kernel_size, self.strides, (1, 1)
        super().__init__(filters, activation, use_bias, kernel_initializer, **kwargs)


# ---- private helpers: im2col / col2im ------------------------------------------------------

def _cols_buffer(rows, width, channels, ones_column, dtype, scratch):
    """The reused ``(rows, width)`` im2col matrix, its last column ones when ``ones_column``
    (filled once: im2col rewrites every other column on each call).

    With one input channel it is the transposed view of a ``(width, rows)`` buffer: each
    kernel offset's column is then one contiguous copy of the shifted image, 4-5x faster to
    fill than ``k`` scattered values per row (the first CNN layer's im2col went from 0.65 to
    0.14 ms a batch, one thread), BLAS reads either layout at the same speed, and the
    benchmark CNN's epoch took 6-7% less time (1.15 s against 1.24 s on digit-like images,
    1.48 s against 1.57 s on normal data, medians of 6 interleaved epochs on both cores).
    """
    if channels == 1:
        return scratch.buffer("cols_t", (width, rows), dtype, fill=1.0).T
    return scratch.buffer("cols", (rows, width), dtype, fill=1.0)


def _im2col(xp, cols, kernel_size, strides, dilation, grid):
    """Copy every receptive field of ``xp`` into one row of ``cols``: ``(n*rows, k)``
    filled in its first ``k = kh*kw*c`` columns, which follow the kernel's ``(kh, kw, c)``
    order, so the GEMM with the reshaped kernel is the convolution. The rows of a sample
    follow ``grid`` (a ``_windows.Grid``).

    The rows come from one strided view per window offset (no copy, no loop over pixels)
    whose last three axes walk one patch, taps ``dilation`` pixels apart; with one channel,
    from one shifted view of the image per kernel tap (see ``_cols_buffer``).
    """
    n, _, _, c = xp.shape
    (kh, kw), (gh, gw), groups = kernel_size, grid.size, len(grid.offsets)
    k = kh * kw * c
    if c == 1:
        taps = cols.T[:k].reshape(kh, kw, n, groups, gh, gw)      # (k, n*rows) as 6-D
        for i in range(kh):
            for j in range(kw):
                for g, (a, b) in enumerate(grid.offsets):
                    rows, columns = grid.taps(a, b, i, j, strides, dilation)
                    taps[i, j, :, g] = xp[:, rows, columns, 0]
        return
    sn, sy, sx, sc = xp.strides
    (sh, sw), (dh, dw), (ph, pw) = strides, dilation, grid.step
    cols7 = cols[:, :k].reshape(n, groups, gh, gw, kh, kw, c)      # (n*rows, k) as 7-D
    for g, (a, b) in enumerate(grid.offsets):
        patches = as_strided(xp[:, a * sh:, b * sw:], shape=(n, gh, gw, kh, kw, c),
                             strides=(sn, sy * sh * ph, sx * sw * pw, sy * dh, sx * dw, sc),
                             writeable=False)
        np.copyto(cols7[:, g], patches)


def _col2im(grad_cols, grad_xp, kernel_size, strides, dilation, grid):
    """Sum the patch gradients ``grad_cols``, ``(kh*kw, n*rows, c)``, one slab per kernel
    tap, back onto the pixels of ``grad_xp`` (the padded input's gradient) they were
    copied from.

    One strided add per kernel tap and window offset (not one per pixel): the inverse of
    ``_im2col`` without a scatter. Within one add no pixel appears twice.
    """
    n, _, _, c = grad_xp.shape
    (kh, kw), (gh, gw), groups = kernel_size, grid.size, len(grid.offsets)
    grad_xp[...] = 0
    grad_patches = grad_cols.reshape(kh, kw, n, groups, gh, gw, c)  # (kh*kw, n*rows, c) -> 7-D
    for i in range(kh):
        for j in range(kw):
            for g, (a, b) in enumerate(grid.offsets):
                rows, columns = grid.taps(a, b, i, j, strides, dilation)
                grad_xp[:, rows, columns, :] += grad_patches[i, j, :, g]
