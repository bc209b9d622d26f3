"""nnlite against PyTorch in float64, with the same weights: forward, input and parameter
gradients of LSTM and GRU, and a short training run. Skipped when torch is not installed."""

import numpy as np
import pytest

import nnlite
from nnlite.layers import GRU, LSTM, Dense, Embedding

torch = pytest.importorskip("torch")

RTOL = 1e-7


def _keras_to_torch_blocks(matrix, cls, units):
    """Reorder the gate blocks of the last axis: LSTM's i, f, c, o is PyTorch's i, f, g, o;
    GRU's z, r, h becomes PyTorch's r, z, n."""
    if cls is LSTM:
        return matrix
    z, r, h = (matrix[..., k * units:(k + 1) * units] for k in range(3))
    return np.concatenate([r, z, h], axis=-1)


def _torch_twin(layer):
    """A float64 torch.nn.LSTM/GRU holding ``layer``'s weights."""
    cls, u = type(layer), layer.units
    p = layer.params
    module = (torch.nn.LSTM if cls is LSTM else torch.nn.GRU)(
        layer.input_shape[-1], u, batch_first=True).double()
    bias_ih = p["bias"] if cls is LSTM else p["bias"][0]
    bias_hh = np.zeros_like(p["bias"]) if cls is LSTM else p["bias"][1]
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.from_numpy(_keras_to_torch_blocks(p["kernel"], cls, u).T))
        module.weight_hh_l0.copy_(torch.from_numpy(
            _keras_to_torch_blocks(p["recurrent_kernel"], cls, u).T))
        module.bias_ih_l0.copy_(torch.from_numpy(_keras_to_torch_blocks(bias_ih, cls, u)))
        module.bias_hh_l0.copy_(torch.from_numpy(_keras_to_torch_blocks(bias_hh, cls, u)))
    return module


def _torch_grads_in_keras_layout(module, cls, units):
    """PyTorch's weight gradients mapped back to the nnlite layer's params."""
    def back(grad):          # inverse of _keras_to_torch_blocks on the last axis
        grad = grad.detach().numpy()
        if cls is LSTM:
            return grad
        r, z, h = (grad[..., k * units:(k + 1) * units] for k in range(3))
        return np.concatenate([z, r, h], axis=-1)

    grads = {"kernel": back(module.weight_ih_l0.grad.T),
             "recurrent_kernel": back(module.weight_hh_l0.grad.T)}
    bias_ih, bias_hh = back(module.bias_ih_l0.grad), back(module.bias_hh_l0.grad)
    # LSTM's one bias stands for PyTorch's two, which always get the same gradient.
    grads["bias"] = bias_ih if cls is LSTM else np.stack([bias_ih, bias_hh])
    return grads


def _assert_close(actual, expected, what):
    scale = max(np.abs(expected).max(), 1e-12)
    error = np.abs(actual - expected).max() / scale
    assert error < RTOL, f"{what}: relative error {error:.2e}"


@pytest.mark.parametrize("lengths", [None, [5, 2, 4, 1]], ids=["full", "post-padded"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("cls", [LSTM, GRU])
def test_layer_matches_pytorch(cls, return_sequences, lengths, float64, rng):
    n, t, features, units = 4, 5, 3, 6
    layer = cls(units, return_sequences=return_sequences)
    layer.build((t, features))
    for param in layer.params.values():      # random biases too, so every path is exercised
        param[...] = rng.uniform(-0.5, 0.5, size=param.shape)
    x = rng.standard_normal((n, t, features))
    mask = None if lengths is None else np.arange(t) < np.array(lengths)[:, None]
    out = layer(x, mask=mask)
    grad_out = rng.standard_normal(out.shape)
    if mask is not None and return_sequences:
        grad_out *= mask[:, :, None]         # PyTorch has no output at padded steps
    grad_x = layer.backward(grad_out)

    module = _torch_twin(layer)
    xt = torch.from_numpy(x).requires_grad_()
    if lengths is None:
        seq, final = module(xt)
    else:
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths),
                                                         batch_first=True, enforce_sorted=False)
        seq, final = module(packed)
        seq, _ = torch.nn.utils.rnn.pad_packed_sequence(seq, batch_first=True, total_length=t)
    h_last = (final[0] if cls is LSTM else final)[0]            # (n, units)
    expected = seq if return_sequences else h_last
    (expected * torch.from_numpy(grad_out)).sum().backward()

    if return_sequences and mask is not None:
        # nnlite (as Keras) repeats the last state over padding; PyTorch gives zeros there.
        _assert_close(out * mask[:, :, None], expected.detach().numpy(), "output")
        _assert_close(out[:, -1], h_last.detach().numpy(), "final state")
    else:
        _assert_close(out, expected.detach().numpy(), "output")
    _assert_close(grad_x, xt.grad.numpy(), "input gradient")
    for key, grad in _torch_grads_in_keras_layout(module, cls, units).items():
        _assert_close(layer.grads[key], grad, key)


def test_masked_training_run_matches_pytorch(float64, rng):
    """Embedding(mask_zero) -> LSTM -> Dense(sigmoid), 3 epochs of SGD on post-padded ids,
    shuffle=False, against the same run in PyTorch with packed sequences."""
    n, t, vocab, embed, units, batch, lr = 24, 7, 12, 4, 5, 8, 0.5
    lengths = rng.integers(1, t + 1, size=n)
    ids = rng.integers(1, vocab, size=(n, t)) * (np.arange(t) < lengths[:, None])
    y = (ids[:, 0] % 2).astype(np.float64)    # learnable from the first token

    model = nnlite.Sequential([Embedding(vocab, embed, mask_zero=True), LSTM(units),
                               Dense(1, activation="sigmoid")], input_shape=(t,))
    model.compile(loss="binary_crossentropy", optimizer=nnlite.optimizers.SGD(lr))
    embedding, lstm, dense = model.layers
    torch_embed = torch.nn.Embedding(vocab, embed).double()
    with torch.no_grad():
        torch_embed.weight.copy_(torch.from_numpy(embedding.params["embeddings"]))
    torch_lstm = _torch_twin(lstm)
    head = torch.nn.Linear(units, 1).double()
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(dense.params["kernel"].T))
        head.bias.copy_(torch.from_numpy(dense.params["bias"]))

    history = model.fit(ids, y, epochs=3, batch_size=batch, shuffle=False, verbose=0)

    # nnlite's LSTM has one bias where PyTorch has two that move by the same step: train
    # bias_ih only (bias_hh stays 0), or PyTorch's effective bias would move twice as fast.
    torch_lstm.bias_hh_l0.requires_grad_(False)
    params = [torch_embed.weight, torch_lstm.weight_ih_l0, torch_lstm.weight_hh_l0,
              torch_lstm.bias_ih_l0, *head.parameters()]
    optimizer = torch.optim.SGD(params, lr=lr)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    ids_t, y_t = torch.from_numpy(ids), torch.from_numpy(y).reshape(-1, 1)
    torch_losses = []
    for _ in range(3):
        losses = []
        for start in range(0, n, batch):
            part = slice(start, start + batch)
            optimizer.zero_grad()
            packed = torch.nn.utils.rnn.pack_padded_sequence(
                torch_embed(ids_t[part]), torch.from_numpy(lengths[part]), batch_first=True,
                enforce_sorted=False)
            _, (h_last, _) = torch_lstm(packed)
            loss = loss_fn(head(h_last[0]), y_t[part])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        torch_losses.append(np.mean(losses))

    np.testing.assert_allclose(history.history["loss"], torch_losses, rtol=RTOL)
    _assert_close(embedding.params["embeddings"], torch_embed.weight.detach().numpy(),
                  "embeddings")
    _assert_close(dense.params["kernel"], head.weight.detach().numpy().T, "dense kernel")
    torch_weights = {"kernel": torch_lstm.weight_ih_l0.detach().numpy().T,
                     "recurrent_kernel": torch_lstm.weight_hh_l0.detach().numpy().T,
                     "bias": torch_lstm.bias_ih_l0.detach().numpy()}
    for key, value in torch_weights.items():
        _assert_close(lstm.params[key], value, key)
