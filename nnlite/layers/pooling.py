"""Max and average pooling over windows (1-D and 2-D) and over the whole input (global)."""

import math

import numpy as np

from nnlite import _parallel as parallel
from nnlite.layers import _windows
from nnlite.layers.base import Layer


class _Pooling(Layer):
    """What the windowed pools share: arguments, geometry, checks. They all run on a
    ``(n, h, w, c)`` image; a 1-D input is its ``(n, 1, steps, c)`` view with windows of
    height 1. Subclasses set ``rank`` and implement ``forward``/``backward``."""

    skips_input_grad = True
    threading = "split"
    rank = 2

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        if self.rank == 2:
            self.pool_size = _windows.pair(owner, "pool_size", pool_size)
            self.strides = (self.pool_size if strides is None
                            else _windows.pair(owner, "strides", strides))
            self._window, self._strides = self.pool_size, self.strides
        else:
            self.pool_size = _windows.single(owner, "pool_size", pool_size)
            self.strides = (self.pool_size if strides is None
                            else _windows.single(owner, "strides", strides))
            self._window, self._strides = (1, self.pool_size), (1, self.strides)
        self.padding = _windows.padding_mode(owner, padding)
        self._scratch = _windows.Scratch()

    def build(self, input_shape):
        _windows.check_build(self, input_shape, self.rank)
        _windows.check_fits(self, input_shape[:-1], self._window[-self.rank:], "pool_size",
                            self.pool_size)
        super().build(input_shape)

    def _image(self, a):
        return a if self.rank == 2 else a[:, None]                 # (n, 1, steps, c) view

    def _geometry(self, x4_shape):
        return _windows.geometry(x4_shape, self._window, self._strides, self.padding)

    def _gradient_buffer(self, x4_shape, pads, out_hw, dtype):
        """The padded input's gradient, to be filled window offset by window offset."""
        n, h, w, c = x4_shape
        (top, bottom), (left, right) = pads
        (ph, pw), (oh, ow) = self._window, out_hw
        shape = (n, h + top + bottom, w + left + right, c)
        # Windows that tile the input exactly write every pixel once: no zeroing needed.
        tiled = self._strides == self._window and shape[1:3] == (oh * ph, ow * pw)
        return np.empty(shape, dtype) if tiled else np.zeros(shape, dtype)

    def _crop(self, grad_xp, x4_shape, pads):
        """The gradient of the unpadded input, in the input's own rank."""
        (top, _), (left, _) = pads
        _, h, w, _ = x4_shape
        grad_x = grad_xp[:, top:top + h, left:left + w, :]
        return grad_x if self.rank == 2 else grad_x[:, 0]

    def output_shape(self, input_shape):
        spatial = (1, *input_shape[:-1])[-2:]
        out_hw, _ = self._geometry((None, *spatial, input_shape[-1]))
        return (*out_hw[-self.rank:], input_shape[-1])

    def _check_input(self, x):
        _windows.check_input(self, x, self.rank)

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "strides": self.strides,
                "padding": self.padding}


class _MaxPooling(_Pooling):
    absorbs_activation = True
    takes_windows = True

    def forward(self, x, training=False, activation=None, windows=False):
        """Pool ``x``, then apply ``activation`` if given. A model passes a convolution's
        ReLU here and runs the convolution without it: ``max(relu(z)) == relu(max(z))``,
        with the same gradient, and the ReLU then touches a fraction of the values.

        With ``windows=True``, ``x`` is a convolution's output already grouped by window
        offset, ``(n, ph*pw, oh, ow, c)`` (see ``pool_window``), and the max is taken over
        its second axis.
        """
        if windows:
            return self._forward_windows(x, activation)
        x4 = self._image(x)
        out_hw, pads = self._geometry(x4.shape)
        n, c = x4.shape[0], x4.shape[-1]
        xp = _windows.pad_buffer(x4.shape, pads, -np.inf, x.dtype, self._scratch)
        offsets = self._window[0] * self._window[1]
        pooled = np.empty((n, *out_hw, c), x.dtype)
        y = pooled if activation is None else np.empty_like(pooled)
        argmax = np.empty((n, *out_hw, c), dtype=np.uint8 if offsets < 256 else np.uint16)

        def work(s):
            xs = x4[s] if xp is None else _windows.pad_into(x4[s], xp[s], pads)
            _max_with_argmax(_windows.windows(xs, self._window, self._strides, out_hw),
                             pooled[s], argmax[s])
            if activation is not None:
                y[s] = activation.forward(pooled[s])

        parallel.run(work, parallel.shards(n, x4[0].size))
        if self.rank == 1:
            pooled, y = pooled[:, 0], y[:, 0]
        self._cache = (False, x4.shape, pads, argmax, pooled, y, activation)
        return y

    def pool_window(self):
        """The window ``(ph, pw)`` when the windows tile the input without overlap or padding,
        so that a convolution before this layer can group its output by window offset
        (``Conv2D.forward(pool_window=...)``); None otherwise."""
        fits = self._strides == self._window and self.padding == "valid"
        return self._window if fits else None

    def _forward_windows(self, z, activation):
        # No argmax here (the backward finds the maximum by comparison), and every offset's
        # block is contiguous: the benchmark's first pool took 0.6 ms instead of 2.4 ms
        # for the running max with argmax over strided views (one thread, 64 images).
        n, groups = z.shape[:2]
        pooled = np.empty((n, *z.shape[2:]), z.dtype)              # (n, oh, ow, c)
        y = pooled if activation is None else np.empty_like(pooled)

        def work(s):   # a running max over the contiguous (oh, ow, c) block of each offset
            np.copyto(pooled[s], z[s, 0])
            for g in range(1, groups):
                np.maximum(pooled[s], z[s, g], out=pooled[s])
            if activation is not None:
                y[s] = activation.forward(pooled[s])

        parallel.run(work, parallel.shards(n, z[0].size))
        if self.rank == 1:
            pooled, y = pooled[:, 0], y[:, 0]
        self._cache = (True, z, pooled, y, activation)
        return y

    def _backward_windows(self, grad_output, cache):
        _, z, pooled, y, activation = cache
        grad_z = np.empty(z.shape, grad_output.dtype)              # (n, ph*pw, oh, ow, c)

        def work(s):
            grad = grad_output[s]
            if activation is not None:
                grad = activation.backward(pooled[s], y[s], grad)
            grad, peak = self._image(grad), self._image(pooled[s])  # (n_s, oh, ow, c)
            # The first offset holding the max takes the whole gradient (PyTorch's rule for
            # ties), the later ones none: ``taken`` marks the pixels already given theirs.
            # Bookkeeping in bytes: 0.93 ms a 32-image shard of the benchmark's first pool,
            # against 1.04 ms for subtracting from a float copy the gradient given away.
            hit, taken = np.empty(grad.shape, dtype=bool), np.zeros(grad.shape, dtype=bool)
            for g in range(z.shape[1]):
                np.equal(z[s, g], peak, out=hit)
                np.greater(hit, taken, out=hit)                    # hit and not taken
                np.multiply(grad, hit, out=grad_z[s, g])
                taken |= hit

        parallel.run(work, parallel.shards(len(z), z[0].size))
        return grad_z

    def backward(self, grad_output, input_grad=True):
        cache = self._cached()
        if not input_grad:
            return None
        if cache[0]:   # the input came grouped by window offset
            return self._backward_windows(grad_output, cache)
        _, x4_shape, pads, argmax, pooled, y, activation = cache
        out_hw = argmax.shape[1:3]
        grad_xp = self._gradient_buffer(x4_shape, pads, out_hw, grad_output.dtype)
        overlap = _windows.overlapping(self._window, self._strides)

        def work(s):
            grad = grad_output[s]
            if activation is not None:
                grad = activation.backward(pooled[s], y[s], grad)
            grad4 = self._image(grad)                              # (n_s, oh, ow, c)
            hit = np.empty(grad4.shape, dtype=bool)
            for k, view in enumerate(_windows.windows(grad_xp[s], self._window, self._strides,
                                                      out_hw)):
                np.equal(argmax[s], k, out=hit)
                if overlap:   # windows share input pixels: their gradients add up
                    view += grad4 * hit
                else:         # each pixel is in at most one window: write, do not accumulate
                    np.multiply(grad4, hit, out=view)

        parallel.run(work, parallel.shards(len(grad_xp), grad_xp[0].size))
        return self._crop(grad_xp, x4_shape, pads)


def _max_with_argmax(views, out, argmax):
    """Write the element-wise max of ``views`` (equal shapes) to ``out`` and the index of
    the first view holding it to ``argmax``.

    A running max that records the offset of each strict improvement: since offsets grow,
    the largest recorded offset is the first maximum in scan order.
    """
    argmax[...] = 0
    np.copyto(out, views[0])
    better = np.empty_like(argmax)
    for k, view in enumerate(views[1:], start=1):
        np.greater(view, out, out=better)                          # 1 where offset k wins
        np.maximum(out, view, out=out)
        better *= k
        np.maximum(argmax, better, out=argmax)


class MaxPool1D(_MaxPooling):
    """Max over each ``pool_size`` window of steps; the gradient goes to one maximum per window.

    With ties the first maximum in the window gets the whole gradient, as PyTorch does.
    ``"valid"`` drops the steps that do not fill a window (Keras); ``"same"`` pads with
    ``-inf`` (the odd step at the end, as TensorFlow) so padding never wins, and gives
    ``ceil(steps / stride)`` outputs.

    Args:
        pool_size: int (or 1-tuple) window length.
        strides: int; None (default) means ``pool_size``, non-overlapping windows.
        padding: ``"valid"`` or ``"same"``.

    Raises:
        ValueError: for a non-positive pool size or stride, an unknown padding, and (when
            called) an input that is not ``(batch, steps, channels)`` or is shorter than a
            "valid" pool.

    Shapes:
        x: (n, steps, c) -> (n, out_steps, c).
    """

    rank = 1


class MaxPool2D(_MaxPooling):
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


class _AveragePooling(_Pooling):

    def forward(self, x, training=False):
        x4 = self._image(x)
        out_hw, pads = self._geometry(x4.shape)
        xp = _windows.pad(x4, pads, 0.0, self._scratch)            # (n, hp, wp, c)
        views = _windows.windows(xp, self._window, self._strides, out_hw)  # ph*pw x (n,oh,ow,c)
        y = views[0].copy()
        for view in views[1:]:
            y += view
        counts = self._counts(x4.shape, out_hw, pads, x.dtype)     # (oh, ow, 1)
        y /= counts
        self._cache = (x4.shape, pads, counts)
        return y if self.rank == 2 else y[:, 0]

    def backward(self, grad_output, input_grad=True):
        x4_shape, pads, counts = self._cached()
        if not input_grad:
            return None
        grad_mean = self._image(grad_output) / counts              # (n, oh, ow, c)
        out_hw = grad_mean.shape[1:3]
        grad_xp = self._gradient_buffer(x4_shape, pads, out_hw, grad_mean.dtype)
        overlap = _windows.overlapping(self._window, self._strides)
        for view in _windows.windows(grad_xp, self._window, self._strides, out_hw):
            if overlap:   # windows share input pixels: their gradients add up
                view += grad_mean
            else:
                view[...] = grad_mean
        return self._crop(grad_xp, x4_shape, pads)

    def _counts(self, x4_shape, out_hw, pads, dtype):
        """How many real (unpadded) pixels each window holds: the product of the counts
        along each axis, where a window starting at ``o * s - before`` covers
        ``min(start + k, size) - max(start, 0)`` real pixels."""
        per_axis = []
        for size, k, s, o, (before, _) in zip(x4_shape[1:3], self._window, self._strides,
                                              out_hw, pads, strict=True):
            start = np.arange(o) * s - before
            per_axis.append(np.minimum(start + k, size) - np.maximum(start, 0))
        return np.multiply.outer(*per_axis)[:, :, None].astype(dtype)  # (oh, ow, 1)


class AveragePooling1D(_AveragePooling):
    """Mean over each ``pool_size`` window of steps.

    ``"same"`` pads as TensorFlow does (the odd step at the end), and a window that reaches
    into the padding averages only its real steps, as Keras does (PyTorch's
    ``count_include_pad=False``).

    Args:
        pool_size: int (or 1-tuple) window length.
        strides: int; None (default) means ``pool_size``, non-overlapping windows.
        padding: ``"valid"`` or ``"same"``.

    Raises:
        ValueError: for a non-positive pool size or stride, an unknown padding, and (when
            called) an input that is not ``(batch, steps, channels)`` or is shorter than a
            "valid" pool.

    Shapes:
        x: (n, steps, c) -> (n, out_steps, c).
    """

    rank = 1


class AveragePooling2D(_AveragePooling):
    """Mean over each ``pool_size`` window.

    ``"same"`` pads as TensorFlow does (the odd row/column at the bottom/right), and a window
    that reaches into the padding averages only its real pixels, as Keras does (PyTorch's
    ``count_include_pad=False``).

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


class _GlobalPooling(Layer):
    """Pooling over every step or pixel at once: the input is seen as ``(n, L, c)``."""

    threading = "either"
    rank = 1

    def build(self, input_shape):
        _windows.check_build(self, input_shape, self.rank)
        super().build(input_shape)

    def output_shape(self, input_shape):
        return (input_shape[-1],)

    def _check_input(self, x):
        _windows.check_input(self, x, self.rank)


class _GlobalAveragePooling(_GlobalPooling):

    def forward(self, x, training=False):
        x3 = x.reshape(x.shape[0], -1, x.shape[-1])               # (n, L, c)
        self._cache = (x.shape, None)
        return x3.mean(axis=1)

    def backward(self, grad_output):
        x_shape, weights = self._cached()
        n, c = grad_output.shape
        grad_x = np.empty((n, math.prod(x_shape[1:-1]), c),
                          grad_output.dtype)                       # (n, L, c)
        if weights is None:   # every step counts 1 / L
            grad_x[...] = (grad_output / grad_x.shape[1])[:, None, :]
        else:                 # real steps count 1 / (their number), padded ones 0
            np.multiply(grad_output[:, None, :], weights[:, :, None], out=grad_x)
        return grad_x.reshape(x_shape)


class GlobalAveragePooling1D(_GlobalAveragePooling):
    """Mean over the steps of each sequence; with a mask, over its real steps only.

    A mask (from ``Embedding(mask_zero=True)``, carried by the model) makes the mean skip the
    padded steps, so pre- and post-padded batches give the same output; a sequence without
    any real step gives zeros. The mask stops here (the output has no time axis).

    Raises:
        ValueError: (when called) for an input that is not ``(batch, steps, channels)``, or a
            mask whose shape is not ``(batch, steps)``.

    Shapes:
        x: (n, steps, c) -> (n, c); mask: (n, steps) booleans, True for real steps.
    """

    supports_masking = True

    def forward(self, x, training=False, mask=None):
        if mask is None:
            return super().forward(x, training)
        mask = np.asarray(mask)
        if mask.shape != x.shape[:2]:
            raise ValueError(f"GlobalAveragePooling1D {self.name!r} expects a mask of shape "
                             f"(batch, steps) = {x.shape[:2]}, got shape {mask.shape}.")
        real = mask.astype(bool).astype(x.dtype)                   # (n, t): 1 real, 0 padding
        count = np.maximum(real.sum(axis=1, keepdims=True), 1)     # (n, 1); no step -> zeros
        weights = real / count                                     # (n, t)
        y = np.matmul(weights[:, None, :], x)[:, 0]                # (n, 1, t) @ (n, t, c)
        self._cache = (x.shape, weights)
        return y

    def compute_mask(self, x, mask):
        return None


class GlobalAveragePooling2D(_GlobalAveragePooling):
    """Mean over all pixels of each channel.

    Raises:
        ValueError: (when called) for an input that is not ``(batch, h, w, c)``.

    Shapes:
        x: (n, h, w, c) -> (n, c).
    """

    rank = 2


class _GlobalMaxPooling(_GlobalPooling):

    def forward(self, x, training=False):
        x3 = x.reshape(x.shape[0], -1, x.shape[-1])               # (n, L, c)
        where = x3.argmax(axis=1)[:, None, :]                      # (n, 1, c): first maximum
        self._cache = (x.shape, where)
        return np.take_along_axis(x3, where, axis=1)[:, 0]

    def backward(self, grad_output):
        x_shape, where = self._cached()
        n, c = grad_output.shape
        grad_x = np.zeros((n, math.prod(x_shape[1:-1]), c),
                          grad_output.dtype)                       # (n, L, c)
        np.put_along_axis(grad_x, where, grad_output[:, None, :], axis=1)
        return grad_x.reshape(x_shape)


class GlobalMaxPooling1D(_GlobalMaxPooling):
    """Max over the steps of each channel; the gradient goes to the first maximum.

    Raises:
        ValueError: (when called) for an input that is not ``(batch, steps, channels)``.

    Shapes:
        x: (n, steps, c) -> (n, c).
    """


class GlobalMaxPooling2D(_GlobalMaxPooling):
    """Max over all pixels of each channel; the gradient goes to the first maximum in
    row-major order.

    Raises:
        ValueError: (when called) for an input that is not ``(batch, h, w, c)``.

    Shapes:
        x: (n, h, w, c) -> (n, c).
    """

    rank = 2


MaxPooling1D = MaxPool1D
MaxPooling2D = MaxPool2D
AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
