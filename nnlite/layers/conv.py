"""Conv1D and Conv2D on channels-last inputs, lowered to GEMM over im2col patches."""

import numpy as np
from numpy.lib.stride_tricks import as_strided

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

    def forward(self, x, training=False, activate=True):
        """Convolve ``x``; with ``activate=False`` return the pre-activation (a model does
        this when the next layer applies the activation, see ``MaxPool2D.forward``)."""
        x4 = x if self.rank == 2 else x[:, None]                   # (n, 1, steps, c) view
        (oh, ow), pads = self._geometry(x4.shape)
        xp = _windows.pad(x4, pads, 0.0, self._scratch)            # (n, hp, wp, c)
        cols = _im2col(xp, self._window, self._strides, self._dilation, (oh, ow),
                       self.use_bias, self._scratch)               # (n*oh*ow, k[+1])
        z = cols @ self._weights()                  # (n*oh*ow, k[+1]) @ (k[+1], filters)
        z = z.reshape(x.shape[0], *(oh, ow)[-self.rank:], self.filters)  # (n, [oh,] ow, f)
        y = self.activation.forward(z) if activate else z
        self._cache = (x4.shape, pads, cols, z, y, activate)
        return y

    def backward(self, grad_output, fused=False, input_grad=True):
        x_shape, pads, cols, z, y, activated = self._cached()
        grad_z = (self.activation.backward(z, y, grad_output) if activated and not fused
                  else grad_output)
        grad_z2 = grad_z.reshape(-1, self.filters)                 # (n*oh*ow, filters)
        if cols.flags.f_contiguous:   # im2col's transposed layout (one input channel)
            grad_weights = cols.T @ grad_z2     # (k[+1], n*oh*ow) @ (n*oh*ow, filters)
        else:
            # (grad_z^T cols)^T rather than cols^T grad_z: OpenBLAS is 15-25% faster at this
            # long-reduction product with the wide operand on the right.
            # (filters, n*oh*ow) @ (n*oh*ow, k[+1]) -> transposed view (k[+1], filters)
            grad_weights = (grad_z2.T @ cols).T
        kernel = self.params["kernel"]
        kernel2 = kernel.reshape(-1, self.filters)                 # (k, filters)
        self.grads["kernel"] = grad_weights[:len(kernel2)].reshape(kernel.shape)
        if self.use_bias:
            self.grads["bias"] = grad_weights[-1]   # the ones column: sum of grad_z per filter
        if not input_grad:   # the model's first layer in training: its input is data
            return None
        # One GEMM per kernel offset, not one with the (kh, kw, c) columns side by side: each
        # offset's (n*oh*ow, c) gradient is then contiguous, which makes col2im's adds fast.
        (kh, kw), c = self._window, x_shape[-1]
        kernel3 = kernel.reshape(kh * kw, c, self.filters).transpose(0, 2, 1)  # (kh*kw, f, c)
        grad_cols = self._scratch.buffer("grad_cols", (kh * kw, len(grad_z2), c), grad_z.dtype)
        np.matmul(grad_z2, kernel3, out=grad_cols)  # (n*oh*ow, f) @ (kh*kw, f, c) -> 3-D
        out_hw = self._geometry(x_shape)[0]
        grad_x = _col2im(grad_cols, x_shape, pads, self._window, self._strides, self._dilation,
                         out_hw)                                   # (n, h, w, c)
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

def _im2col(xp, kernel_size, strides, dilation, out_hw, ones_column, scratch):
    """Copy every receptive field of ``xp`` into one row: ``(n*oh*ow, kh*kw*c)``, plus a
    last column of ones when ``ones_column`` (it multiplies the bias row of the weights).

    The rows come from a strided view (no copy, no loop) whose last three axes walk one
    patch in the kernel's ``(kh, kw, c)`` order, taps ``dilation`` pixels apart, so the GEMM
    with the reshaped kernel is the convolution.

    With one input channel the matrix is returned as the transposed view of a
    ``(k[+1], n*oh*ow)`` buffer: each kernel offset's column is then one contiguous copy of
    the shifted image, 4-5x faster to fill than the ``k`` scattered values per row (the
    first CNN layer's im2col went from 0.65 to 0.14 ms a batch, one thread), BLAS reads
    either layout at the same speed, and the benchmark CNN's epoch took 6-7% less time
    (1.15 s against 1.24 s on digit-like images, 1.48 s against 1.57 s on normal data,
    medians of 6 interleaved epochs on both cores).
    """
    n, _, _, c = xp.shape
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel_size, strides, dilation, out_hw
    k = kh * kw * c
    if c == 1:
        # Filled with ones once; the copies below rewrite all but the last row on every call.
        cols_t = scratch.buffer("cols_t", (k + int(ones_column), n * oh * ow), xp.dtype,
                                fill=1.0)
        offsets = cols_t[:k].reshape(kh, kw, n, oh, ow)
        for i in range(kh):
            for j in range(kw):
                y0, x0 = i * dh, j * dw
                offsets[i, j] = xp[:, y0:y0 + sh * (oh - 1) + 1:sh, x0:x0 + sw * (ow - 1) + 1:sw, 0]
        return cols_t.T                                            # (n*oh*ow, k[+1]) view
    sn, sy, sx, sc = xp.strides
    patches = as_strided(xp, shape=(n, oh, ow, kh, kw, c),
                         strides=(sn, sy * sh, sx * sw, sy * dh, sx * dw, sc), writeable=False)
    # Filled with ones once; the copy below rewrites all but the last column on every call.
    cols = scratch.buffer("cols", (n * oh * ow, k + int(ones_column)), xp.dtype, fill=1.0)
    cols6 = cols[:, :k].reshape(n, oh, ow, kh, kw, c)              # (n*oh*ow, k) as 6-D
    np.copyto(cols6, patches)
    return cols


def _col2im(grad_cols, x_shape, pads, kernel_size, strides, dilation, out_hw):
    """Sum the patch gradients ``grad_cols``, ``(kh*kw, n*oh*ow, c)``, one slab per kernel
    offset, back onto the pixels they were copied from.

    One strided add per kernel offset (kh*kw of them, not one per pixel): the inverse of
    ``_im2col`` without a scatter. With stride 1 both sides of each add have whole rows of
    ``ow*c`` contiguous values.
    """
    n, h, w, c = x_shape
    (top, bottom), (left, right) = pads
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel_size, strides, dilation, out_hw
    grad_xp = np.zeros((n, h + top + bottom, w + left + right, c), grad_cols.dtype)
    grad_patches = grad_cols.reshape(kh, kw, n, oh, ow, c)   # (kh*kw, n*oh*ow, c) -> 6-D
    for i in range(kh):
        for j in range(kw):
            y0, x0 = i * dh, j * dw
            grad_xp[:, y0:y0 + sh * (oh - 1) + 1:sh, x0:x0 + sw * (ow - 1) + 1:sw, :] += (
                grad_patches[i, j])
    return grad_xp[:, top:top + h, left:left + w, :]
