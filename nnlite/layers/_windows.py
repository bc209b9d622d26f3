"""Sliding-window geometry shared by the convolution and pooling layers.

Everything here works on channels-last images ``(n, h, w, c)``; the 1-D layers pass their
``(n, steps, c)`` input as a ``(n, 1, steps, c)`` view with a window of height 1, so one
code path serves both ranks.
"""

import math
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nnlite._utils import positive_int

#: The input layout each rank expects, as error messages spell it.
LAYOUTS = {1: "(batch, steps, channels)", 2: "(batch, height, width, channels)"}


def pair(owner, name, value):
    """Return ``value`` as a pair of positive ints (an int ``k`` means ``(k, k)``)."""
    pair_ = (value, value) if isinstance(value, int | np.integer) else value
    ok = isinstance(pair_, tuple | list) and len(pair_) == 2 and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in pair_)
    if not ok:
        raise ValueError(f"{owner}: {name} must be a positive int or a pair of positive ints, "
                         f"got {value!r}.")
    return (int(pair_[0]), int(pair_[1]))


def single(owner, name, value):
    """Return ``value`` as one positive int; a 1-tuple ``(k,)`` (Keras' form) means ``k``."""
    inner = value[0] if isinstance(value, tuple | list) and len(value) == 1 else value
    try:
        return positive_int(owner, name, inner)
    except ValueError:
        raise ValueError(f"{owner}: {name} must be a positive int or a 1-tuple of one, "
                         f"got {value!r}.") from None


def padding_mode(owner, value, allowed=("valid", "same")):
    """Return the lower-cased padding mode, or raise ValueError listing ``allowed``."""
    mode = value.lower() if isinstance(value, str) else value
    if mode not in allowed:
        known = ", ".join(repr(a) for a in allowed[:-1]) + f" or {allowed[-1]!r}"
        raise ValueError(f"{owner}: padding must be {known}, got {value!r}.")
    return mode


def check_input(layer, x, rank):
    """Refuse an input that is not a batch of ``rank``-D channels-last samples."""
    if getattr(x, "ndim", 0) != rank + 2:
        raise ValueError(f"{type(layer).__name__} {layer.name!r} expects input of shape "
                         f"{LAYOUTS[rank]}, got shape {getattr(x, 'shape', type(x).__name__)}.")


def check_build(layer, input_shape, rank):
    """Refuse a build shape (batch axis excluded) that is not ``rank`` axes plus channels."""
    if len(input_shape) != rank + 1:
        raise ValueError(f"{type(layer).__name__} {layer.name!r} expects input of shape "
                         f"{LAYOUTS[rank]}, got shape {(None, *input_shape)}.")


def check_fits(layer, spatial, span, arg, shown):
    """Refuse a "valid" window spanning more than the input: ``spatial`` and ``span`` are the
    input sizes and window extents along the layer's own axes, ``shown`` the window as the
    user gave it (named ``arg``) for the message."""
    if layer.padding == "valid" and any(s < k for s, k in zip(spatial, span, strict=True)):
        size = tuple(spatial) if len(spatial) > 1 else spatial[0]
        raise ValueError(
            f"{type(layer).__name__} {layer.name!r}: {arg} {shown} is larger than the input "
            f"{size} with padding='valid'; use padding='same' or a smaller {arg}."
        )


def geometry(x_shape, window, strides, padding, dilation=(1, 1)):
    """Return the output size ``(oh, ow)`` and the padding ``((top, bottom), (left, right))``.

    A dilated window spans ``(k - 1) * d + 1`` pixels. "same" pads
    ``max((out - 1) * stride + span - size, 0)`` in total, the larger half after (TensorFlow);
    "causal" pads ``span - 1`` before and nothing after, so output ``t`` sees inputs up to
    ``t * stride`` only.
    """
    out, pads = [], []
    for size, k, s, d in zip(x_shape[1:3], window, strides, dilation, strict=True):
        span = (k - 1) * d + 1
        if padding == "valid":
            before = after = 0
        elif padding == "causal":
            before, after = span - 1, 0
        else:
            total = max((math.ceil(size / s) - 1) * s + span - size, 0)
            before, after = total // 2, total - total // 2
        out.append((size + before + after - span) // s + 1)
        pads.append((before, after))
    return tuple(out), tuple(pads)


class Grid(NamedTuple):
    """The order of a convolution's output rows: for each sample, one block per window
    offset ``(a, b)`` in ``offsets``, each holding the pixels ``(step_h*p + a, step_w*q + b)``
    for ``p < size[0]``, ``q < size[1]``.

    ``plain`` is the image's own row-major order; ``pooled`` groups the pixels by their place
    in the non-overlapping windows of a max-pool that follows, so the pool reduces over
    contiguous blocks, and pixels in no window (the last row of an odd size) are left out:
    in the benchmark CNN the second convolution computes 6,400 rows a batch instead of
    7,744, and the first pool's forward takes a quarter of its time on strided views.
    """

    offsets: tuple
    size: tuple
    step: tuple

    @classmethod
    def plain(cls, out_hw):
        return cls(((0, 0),), tuple(out_hw), (1, 1))

    @classmethod
    def pooled(cls, out_hw, window):
        (oh, ow), (ph, pw) = out_hw, window
        return cls(tuple((a, b) for a in range(ph) for b in range(pw)), (oh // ph, ow // pw),
                   (ph, pw))

    @property
    def rows(self):
        """Output rows per sample."""
        return len(self.offsets) * self.size[0] * self.size[1]

    def in_image_order(self, grouped):
        """Return ``grouped``, ``(n, groups, gh, gw, c)`` in this grid's order, as the
        ``(n, gh*ph, gw*pw, c)`` image of the pixels it covers, and the plain grid of that
        image."""
        (gh, gw), (ph, pw) = self.size, self.step
        if len(self.offsets) == 1:
            return grouped[:, 0], self
        image = np.empty((len(grouped), gh * ph, gw * pw, grouped.shape[-1]), grouped.dtype)
        for g, (a, b) in enumerate(self.offsets):
            image[:, a::ph, b::pw] = grouped[:, g]
        return image, Grid.plain(image.shape[1:3])

    def taps(self, a, b, i, j, strides, dilation):
        """The input rows and columns read by kernel tap ``(i, j)`` of the output pixels of
        offset ``(a, b)``, as two slices (of the padded input)."""
        (gh, gw), (ph, pw), (sh, sw), (dh, dw) = self.size, self.step, strides, dilation
        y0, x0 = a * sh + i * dh, b * sw + j * dw
        return (slice(y0, y0 + sh * ph * (gh - 1) + 1, sh * ph),
                slice(x0, x0 + sw * pw * (gw - 1) + 1, sw * pw))


class Scratch(dict):
    """Arrays reused between batches of the same shape, so a training step does not allocate
    (and page-fault) the large im2col and padding buffers again."""

    def buffer(self, name, shape, dtype, fill=None):
        key = (name, tuple(shape), np.dtype(dtype))
        if key not in self:
            if len(self) >= 8:  # e.g. a smaller last batch: keep a few shapes, not all
                self.clear()
            self[key] = np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)
        return self[key]


def pad_buffer(x_shape, pads, value, dtype, scratch):
    """The reused buffer for ``x`` padded with ``value`` (None when ``pads`` are all 0). Its
    border keeps ``value`` from when it was allocated; ``pad_into`` writes the interior."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return None
    n, h, w, c = x_shape
    return scratch.buffer("pad", (n, h + top + bottom, w + left + right, c), dtype, fill=value)


def pad_into(x, xp, pads):
    """Copy ``x`` into the interior of its padded buffer ``xp`` and return ``xp``."""
    (top, _), (left, _) = pads
    _, h, w, _ = x.shape
    xp[:, top:top + h, left:left + w, :] = x
    return xp


def pad(x, pads, value, scratch):
    """Return ``x`` padded with ``value``, in a buffer reused between calls."""
    xp = pad_buffer(x.shape, pads, value, x.dtype, scratch)
    return x if xp is None else pad_into(x, xp, pads)


def overlapping(pool_size, strides):
    """True when a stride is smaller than the pool, so neighbouring windows share pixels."""
    return any(s < p for p, s in zip(pool_size, strides, strict=True))


def windows(a, pool_size, strides, out_hw):
    """Return one ``(n, oh, ow, c)`` view of ``a`` per pool offset, in row-major order.

    Non-overlapping windows (stride == pool, the usual case) come from a plain reshape;
    other strides from a sliding-window view. The views are writeable, so a backward can
    write or add its gradients through them.
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
