"""Conv2D and MaxPool2D on channels-last images, lowered to GEMM and strided views."""

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from nnlite import activations, initializers
from nnlite._utils import positive_int
from nnlite.layers.base import Layer


class Conv2D(Layer):
    """2-D convolution ``y = act(conv(x, kernel) + bias)``, as one GEMM over im2col patches.

    Each output pixel's receptive field becomes one row of ``k = kh*kw*c`` values (plus a 1
    for the bias), so the forward is one GEMM and the backward two, one for the weights and
    one for the patches, which col2im sums back onto the input.

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

    fusable = True
    skips_input_grad = True
    defers_activation = True

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.filters = positive_int("Conv2D", "filters", filters)
        self.kernel_size = _pair("Conv2D", "kernel_size", kernel_size)
        self.strides = _pair("Conv2D", "strides", strides)
        self.padding = _padding_mode("Conv2D", padding)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self._init = initializers.get(kernel_initializer)
        self._scratch = _Scratch()

    def build(self, input_shape):
        _check_window(self, input_shape, self.kernel_size, "kernel_size")
        super().build(input_shape)
        kh, kw = self.kernel_size
        self._add_param("kernel", (kh, kw, self.input_shape[-1], self.filters), self._init)
        if self.use_bias:
            self._add_param("bias", (self.filters,), initializers.zeros)

    def forward(self, x, training=False, activate=True):
        """Convolve ``x``; with ``activate=False`` return the pre-activation (a model does
        this when the next layer applies the activation, see ``MaxPool2D.forward``)."""
        (oh, ow), pads = _geometry(x.shape, self.kernel_size, self.strides, self.padding)
        xp = _pad(x, pads, 0.0, self._scratch)                     # (n, hp, wp, c)
        cols = _im2col(xp, self.kernel_size, self.strides, (oh, ow), self.use_bias,
                       self._scratch)                              # (n*oh*ow, k[+1])
        z = cols @ self._weights()                  # (n*oh*ow, k[+1]) @ (k[+1], filters)
        z = z.reshape(x.shape[0], oh, ow, self.filters)            # -> (n, oh, ow, filters)
        y = self.activation.forward(z) if activate else z
        self._cache = (x.shape, pads, cols, z, y, activate)
        return y

    def backward(self, grad_output, fused=False, input_grad=True):
        x_shape, pads, cols, z, y, activated = self._cached()
        grad_z = (self.activation.backward(z, y, grad_output) if activated and not fused
                  else grad_output)
        grad_z2 = grad_z.reshape(-1, self.filters)                 # (n*oh*ow, filters)
        # (grad_z^T cols)^T rather than cols^T grad_z: OpenBLAS is 15-25% faster at this
        # long-reduction product with the wide operand on the right.
        # (filters, n*oh*ow) @ (n*oh*ow, k[+1]) -> transposed view (k[+1], filters)
        grad_weights = (grad_z2.T @ cols).T
        kernel = self.params["kernel"]
        kernel2 = kernel.reshape(-1, self.filters)                 # (k, filters)
        self.grads["kernel"] = grad_weights[:len(kernel2)].reshape(kernel.shape)  # -> 4-D
        if self.use_bias:
            self.grads["bias"] = grad_weights[-1]   # the ones column: sum of grad_z per filter
        if not input_grad:   # the model's first layer in training: its input is data
            return None
        # One GEMM per kernel offset, not one with the (kh, kw, c) columns side by side: each
        # offset's (n*oh*ow, c) gradient is then contiguous, which makes col2im's adds fast.
        kh, kw, c, _ = kernel.shape
        kernel3 = kernel.reshape(kh * kw, c, self.filters).transpose(0, 2, 1)  # (kh*kw, f, c)
        grad_cols = self._scratch.buffer("grad_cols", (kh * kw, len(grad_z2), c), grad_z.dtype)
        np.matmul(grad_z2, kernel3, out=grad_cols)  # (n*oh*ow, f) @ (kh*kw, f, c) -> 3-D
        return _col2im(grad_cols, x_shape, pads, self.kernel_size, self.strides, z.shape[1:3])

    def _weights(self):
        """The kernel as a ``(k, filters)`` matrix, ``k = kh*kw*c``, with the bias as one
        more row: im2col's column of ones turns the bias add into part of the GEMM."""
        kernel2 = self.params["kernel"].reshape(-1, self.filters)  # (kh, kw, c, f) -> (k, f)
        if not self.use_bias:
            return kernel2
        return np.concatenate([kernel2, self.params["bias"][None, :]])   # (k + 1, filters)

    def output_shape(self, input_shape):
        (oh, ow), _ = _geometry((None, *input_shape), self.kernel_size, self.strides,
                                self.padding)
        return (oh, ow, self.filters)

    def _check_input(self, x):
        _check_image(self, x)
        if self.built and x.shape[-1] != self.input_shape[-1]:
            raise ValueError(
                f"Conv2D {self.name!r} was built for {self.input_shape[-1]} input channels, "
                f"got input of shape {x.shape}."
            )

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": self.kernel_initializer}


class MaxPool2D(Layer):
    """Max over each ``pool_size`` window; the gradient goes to one maximum per window.

    With ties the first maximum in row-major window order gets the whole gradient, as
    PyTorch does. ``"valid"`` drops the rows/columns that do not fill a window (Keras);
    ``"same"`` pads with ``-inf`` so padding never wins, and gives ``ceil(size / stride)``.

    Args:
        pool_size: int or pair ``(ph, pw)``.
        strides: int or pair; None (default) means ``pool_size``, non-overlapping windows.
        padding: ``"valid"`` or ``"same"``.

    Raises:
        ValueError: for a non-positive pool size or stride, an unknown padding, and (when
            called) an input that is not ``(batch, h, w, c)`` or is smaller than a "valid" pool.

    Shapes:
        x: (n, h, w, c) -> (n, oh, ow, c).
    """

    skips_input_grad = True
    absorbs_activation = True

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _pair("MaxPool2D", "pool_size", pool_size)
        self.strides = self.pool_size if strides is None else _pair("MaxPool2D", "strides",
                                                                      strides)
        self.padding = _padding_mode("MaxPool2D", padding)
        self._scratch = _Scratch()

    def build(self, input_shape):
        _check_window(self, input_shape, self.pool_size, "pool_size")
        super().build(input_shape)

    def forward(self, x, training=False, activation=None):
        """Pool ``x``, then apply ``activation`` if given. A model passes a Conv2D's ReLU
        here and runs the Conv2D without it: ``max(relu(z)) == relu(max(z))``, with the same
        gradient, and the ReLU then touches a quarter of the values."""
        out_hw, pads = _geometry(x.shape, self.pool_size, self.strides, self.padding)
        xp = _pad(x, pads, -np.inf, self._scratch)                 # (n, hp, wp, c)
        views = _windows(xp, self.pool_size, self.strides, out_hw)  # ph*pw x (n, oh, ow, c)
        # A running max that records the offset of each strict improvement: since offsets
        # grow, the largest recorded offset is the first maximum in scan order.
        dtype = np.uint8 if len(views) < 256 else np.uint16
        argmax = np.zeros(views[0].shape, dtype=dtype)
        better = np.empty_like(argmax)
        y = views[0]
        for k, view in enumerate(views[1:], start=1):
            np.greater(view, y, out=better)                        # 1 where offset k wins
            y = np.maximum(y, view, out=None if k == 1 else y)  # the first one allocates y
            better *= k
            np.maximum(argmax, better, out=argmax)
        if len(views) == 1:
            y = y.copy()
        pooled, y = y, (y if activation is None else activation.forward(y))
        self._cache = (x.shape, pads, argmax, pooled, y, activation)
        return y

    def backward(self, grad_output, input_grad=True):
        x_shape, pads, argmax, pooled, y, activation = self._cached()
        if not input_grad:
            return None
        if activation is not None:
            grad_output = activation.backward(pooled, y, grad_output)
        n, h, w, c = x_shape
        (top, bottom), (left, right) = pads
        shape = (n, h + top + bottom, w + left + right, c)
        (oh, ow), (ph, pw) = argmax.shape[1:3], self.pool_size
        overlap = _overlapping(self.pool_size, self.strides)
        # Windows that tile the input exactly write every pixel once: no zeroing needed.
        tiled = self.strides == self.pool_size and shape[1:3] == (oh * ph, ow * pw)
        grad_xp = np.empty(shape, grad_output.dtype) if tiled else np.zeros(shape,
                                                                            grad_output.dtype)
        hit = np.empty(argmax.shape, dtype=bool)
        for k, view in enumerate(_windows(grad_xp, self.pool_size, self.strides, (oh, ow))):
            np.equal(argmax, k, out=hit)
            if overlap:   # windows share input pixels: their gradients add up
                view += grad_output * hit
            else:         # each pixel is in at most one window: write, do not accumulate
                np.multiply(grad_output, hit, out=view)
        return grad_xp[:, top:top + h, left:left + w, :]

    def output_shape(self, input_shape):
        (oh, ow), _ = _geometry((None, *input_shape), self.pool_size, self.strides,
                                self.padding)
        return (oh, ow, input_shape[-1])

    def _check_input(self, x):
        _check_image(self, x)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding}


MaxPooling2D = MaxPool2D


# ---- private helpers: argument checks, geometry, padding, im2col / col2im ---------------

def _pair(owner, name, value):
    """Return ``value`` as a pair of positive ints (an int ``k`` means ``(k, k)``)."""
    pair = (value, value) if isinstance(value, int | np.integer) else value
    ok = isinstance(pair, tuple | list) and len(pair) == 2 and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in pair)
    if not ok:
        raise ValueError(f"{owner}: {name} must be a positive int or a pair of positive ints, "
                         f"got {value!r}.")
    return (int(pair[0]), int(pair[1]))


def _padding_mode(owner, value):
    mode = value.lower() if isinstance(value, str) else value
    if mode not in ("valid", "same"):
        raise ValueError(f"{owner}: padding must be 'valid' or 'same', got {value!r}.")
    return mode


def _check_image(layer, x):
    if getattr(x, "ndim", 0) != 4:
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r} expects input of shape "
            f"(batch, height, width, channels), got shape "
            f"{getattr(x, 'shape', type(x).__name__)}."
        )


def _check_window(layer, input_shape, window, arg):
    """Refuse a build shape that is not ``(h, w, c)`` or is smaller than a "valid" window."""
    if len(input_shape) != 3:
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r} expects input of shape "
            f"(batch, height, width, channels), got shape {(None, *input_shape)}."
        )
    if layer.padding == "valid" and any(s < k for s, k in zip(input_shape[:2], window,
                                                                strict=True)):
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r}: {arg} {window} is larger than the input "
            f"{tuple(input_shape[:2])} with padding='valid'; use padding='same' or a smaller "
            f"{arg}."
        )


def _geometry(x_shape, window, strides, padding):
    """Return the output size ``(oh, ow)`` and the padding ``((top, bottom), (left, right))``.

    "same" pads ``max((out - 1) * stride + k - size, 0)`` in total, the larger half after.
    """
    out, pads = [], []
    for size, k, s in zip(x_shape[1:3], window, strides, strict=True):
        if padding == "valid":
            out.append((size - k) // s + 1)
            pads.append((0, 0))
        else:
            o = math.ceil(size / s)
            total = max((o - 1) * s + k - size, 0)
            out.append(o)
            pads.append((total // 2, total - total // 2))
    return tuple(out), tuple(pads)


class _Scratch(dict):
    """Arrays reused between batches of the same shape, so a training step does not allocate
    (and page-fault) the large im2col and padding buffers again."""

    def buffer(self, name, shape, dtype, fill=None):
        key = (name, tuple(shape), np.dtype(dtype))
        if key not in self:
            if len(self) >= 8:  # e.g. a smaller last batch: keep a few shapes, not all
                self.clear()
            self[key] = np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)
        return self[key]


def _pad(x, pads, value, scratch):
    """Return ``x`` padded with ``value``; only the interior of the reused buffer is written,
    its border keeps ``value`` from when it was allocated."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    n, h, w, c = x.shape
    xp = scratch.buffer("pad", (n, h + top + bottom, w + left + right, c), x.dtype, fill=value)
    xp[:, top:top + h, left:left + w, :] = x
    return xp


def _im2col(xp, kernel_size, strides, out_hw, ones_column, scratch):
    """Copy every receptive field of ``xp`` into one row: ``(n*oh*ow, kh*kw*c)``, plus a
    last column of ones when ``ones_column`` (it multiplies the bias row of the weights).

    The rows come from a strided view (no copy, no loop) whose last three axes walk one
    patch in the kernel's ``(kh, kw, c)`` order, so the GEMM with the reshaped kernel is the
    convolution.
    """
    n, _, _, c = xp.shape
    (kh, kw), (sh, sw), (oh, ow) = kernel_size, strides, out_hw
    sn, sy, sx, sc = xp.strides
    patches = as_strided(xp, shape=(n, oh, ow, kh, kw, c),
                         strides=(sn, sy * sh, sx * sw, sy, sx, sc), writeable=False)
    k = kh * kw * c
    # Filled with ones once; the copy below rewrites all but the last column on every call.
    cols = scratch.buffer("cols", (n * oh * ow, k + int(ones_column)), xp.dtype, fill=1.0)
    cols6 = cols[:, :k].reshape(n, oh, ow, kh, kw, c)              # (n*oh*ow, k) as 6-D
    if c == 1:  # one channel: offset by offset, NumPy copies runs of ow values, not of kw
        for i in range(kh):
            for j in range(kw):
                cols6[:, :, :, i, j] = patches[:, :, :, i, j]
    else:
        np.copyto(cols6, patches)
    return cols


def _col2im(grad_cols, x_shape, pads, kernel_size, strides, out_hw):
    """Sum the patch gradients ``grad_cols``, ``(kh*kw, n*oh*ow, c)``, one slab per kernel
    offset, back onto the pixels they were copied from.

    One strided add per kernel offset (kh*kw of them, not one per pixel): the inverse of
    ``_im2col`` without a scatter. With stride 1 both sides of each add have whole rows of
    ``ow*c`` contiguous values.
    """
    n, h, w, c = x_shape
    (top, bottom), (left, right) = pads
    (kh, kw), (sh, sw), (oh, ow) = kernel_size, strides, out_hw
    grad_xp = np.zeros((n, h + top + bottom, w + left + right, c), grad_cols.dtype)
    grad_patches = grad_cols.reshape(kh, kw, n, oh, ow, c)   # (kh*kw, n*oh*ow, c) -> 6-D
    for i in range(kh):
        for j in range(kw):
            grad_xp[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :] += (
                grad_patches[i, j])
    return grad_xp[:, top:top + h, left:left + w, :]


def _overlapping(pool_size, strides):
    """True when a stride is smaller than the pool, so neighbouring windows share pixels."""
    return any(s < p for p, s in zip(pool_size, strides, strict=True))


def _windows(a, pool_size, strides, out_hw):
    """Return one ``(n, oh, ow, c)`` view of ``a`` per pool offset, in row-major order.

    Non-overlapping windows (stride == pool, the usual case) come from a plain reshape;
    other strides from a sliding-window view.
    """
    n, _, _, c = a.shape
    (ph, pw), (oh, ow) = pool_size, out_hw
    if tuple(strides) == (ph, pw):
        blocks = a[:, :oh * ph, :ow * pw].reshape(n, oh, ph, ow, pw, c)  # (n, oh, ph, ow, pw, c)
        return [blocks[:, :, i, :, j, :] for i in range(ph) for j in range(pw)]
    sh, sw = strides
    win = sliding_window_view(a, (ph, pw), axis=(1, 2), writeable=True)  # backward writes
    win = win[:, ::sh, ::sw][:, :oh, :ow]
    return [win[..., i, j] for i in range(ph) for j in range(pw)]   # win: (n, oh, ow, c, ph, pw)
