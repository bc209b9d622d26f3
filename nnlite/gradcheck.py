"""Finite-difference gradient check for a layer or a whole compiled model, in float64."""

import numpy as np


def gradcheck(target, x, y=None, *, eps=1e-6, max_elements=400, seed=0, training=False,
              return_details=False):
    """Compare analytic gradients with central differences and return the worst error.

    For a layer the checked scalar is ``sum(R * layer(x))`` with a fixed random ``R``, so every
    output element contributes; for a compiled model it is the model's loss on ``(x, y)``.
    Each checked tensor (the input when it is floating, then every parameter) gets the error
    ``max|analytic - numeric| / max(max|analytic|, max|numeric|, 1e-8)``. Tensors larger than
    ``max_elements`` are checked on a random subset of that many elements.

    Args:
        target: a Layer, or a compiled Sequential.
        x: input batch; cast to float64 if floating (integer ids are used as given).
        y: targets, required for a model.
        eps: finite-difference step.
        max_elements: most elements checked per tensor.
        seed: seeds the projection ``R`` and the element subsets.
        training: run a layer in training mode (e.g. BatchNormalization with the batch's
            statistics, which the gradient then goes through); a model is always checked in
            inference mode.
        return_details: also return a dict ``{tensor name: error}``.

    Returns:
        The worst relative error (and the details dict if asked).

    Raises:
        ValueError: when the target's parameters are not float64, or a model has no targets
            or is asked for training mode.
        RuntimeError: when a float input gets no gradient from ``backward`` (a layer that
            skipped it would otherwise be checked less without anyone noticing).
    """
    rng = np.random.default_rng(seed)
    if np.issubdtype(np.asarray(x).dtype, np.floating):
        x = np.array(x, dtype=np.float64)
    is_model = hasattr(target, "layers")
    layers = target.layers if is_model else [target]
    scalar, analytic_x = (_model_pass if is_model else _layer_pass)(target, x, y, rng,
                                                                    training)
    _require_float64(layers)
    if x.dtype == np.float64 and analytic_x is None:
        who = "the model" if is_model else f"{type(target).__name__} {target.name!r}"
        raise RuntimeError(f"gradcheck: {who} returned no gradient for its float input; "
                           "backward must return d(loss)/d(input) when called on its own.")
    analytic = {f"{layer.name}.{key}": layer.grads[key].copy()
                for layer in layers for key in layer.params}

    errors = {}
    if analytic_x is not None:
        errors["input"] = _compare(analytic_x, _numeric(scalar, x, x, eps, max_elements, rng))
    for layer in layers:
        for key, param in layer.params.items():
            name = f"{layer.name}.{key}"
            numeric = _numeric(scalar, x, param, eps, max_elements, rng)
            errors[name] = _compare(analytic[name], numeric)
    worst = max(errors.values(), default=0.0)
    return (worst, errors) if return_details else worst


def _model_pass(model, x, y, rng, training):
    """The model's loss as a function of its input, and the analytic input gradient."""
    if y is None:
        raise ValueError("gradcheck: a model needs targets y to compute its loss.")
    if training:
        raise ValueError("gradcheck: training=True applies to a single layer; a model's "
                         "loss is checked in inference mode.")

    def scalar(inp):
        return model.compute_loss(inp, y)

    return scalar, model.compute_gradients(x, y, training=False)


def _layer_pass(layer, x, y, rng, training):
    """``sum(R * layer(x))`` for a fixed random ``R``, and its analytic input gradient."""
    if not layer.built:
        layer(x, training=training)
    projection = rng.standard_normal(layer(x, training=training).shape)

    def scalar(inp):
        return float(np.sum(layer(inp, training=training) * projection))

    layer(x, training=training)
    return scalar, layer.backward(projection)


def _require_float64(layers):
    for layer in layers:
        for key, value in layer.params.items():
            if value.dtype != np.float64:
                raise ValueError(
                    f"gradcheck needs float64 weights, but {layer.name!r}.{key} is {value.dtype}:"
                    " build with dtype='float64' or call nnlite.set_dtype('float64') first."
                )


def _numeric(scalar, x, tensor, eps, max_elements, rng):
    """Central differences of ``scalar(x)`` w.r.t. ``tensor``, perturbed in place.

    Returns an array shaped like ``tensor``, NaN where the element was not checked.
    """
    flat = tensor.reshape(-1)
    if flat.size <= max_elements:
        indices = np.arange(flat.size)
    else:
        indices = rng.choice(flat.size, size=max_elements, replace=False)
    numeric = np.full(flat.size, np.nan)
    for i in indices:
        original = flat[i]
        flat[i] = original + eps
        plus = scalar(x)
        flat[i] = original - eps
        minus = scalar(x)
        flat[i] = original
        numeric[i] = (plus - minus) / (2.0 * eps)
    return numeric.reshape(tensor.shape)


def _compare(analytic, numeric):
    checked = ~np.isnan(numeric)
    a, n = np.asarray(analytic)[checked], numeric[checked]
    if a.size == 0:
        return 0.0
    scale = max(np.abs(a).max(), np.abs(n).max(), 1e-8)
    return float(np.abs(a - n).max() / scale)
