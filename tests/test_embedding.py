import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlite
from nnlite.layers import Dense, Embedding
from tests.helpers import check_layer_contract


def test_contract():
    check_layer_contract(Embedding, {"input_dim": 7, "output_dim": 3}, (4, 5),
                         integer_input=True, input_dim=7)
    check_layer_contract(Embedding, {"input_dim": 2, "output_dim": 1}, (1, 1),
                         integer_input=True, input_dim=2)


@pytest.mark.parametrize("ids", [[[1, 2, 1, 1], [5, 0, 1, 2]], [[3]], [[4, 4, 4]]])
def test_gradcheck_with_repeated_ids(ids, float64):
    assert nnlite.gradcheck(Embedding(6, 3), np.array(ids)) < 1e-6


def test_gradcheck_catches_lost_repeats(float64):
    class LastWriteWins(Embedding):
        # The classic bug: fancy-index assignment keeps one row per repeated id.
        def backward(self, grad_output):
            ids = self._cached().reshape(-1)
            grad = np.zeros_like(self.params["embeddings"])
            grad[ids] = grad_output.reshape(-1, self.output_dim)
            self.grads["embeddings"] = grad

    assert nnlite.gradcheck(LastWriteWins(6, 3), np.array([[1, 2, 1, 1]])) > 1e-2


def test_hand_worked_example(float64):
    layer = Embedding(3, 2)
    layer.build((3,))
    layer.params["embeddings"][...] = [[0, 0], [1, 2], [3, 4]]
    ids = np.array([[1, 2, 1]])
    np.testing.assert_array_equal(layer(ids), [[[1, 2], [3, 4], [1, 2]]])
    assert layer.backward(np.array([[[1.0, 10.0], [2.0, 20.0], [4.0, 40.0]]])) is None
    # id 0 unused -> [0, 0]; id 1 at steps 0 and 2 -> [1 + 4, 10 + 40]; id 2 -> [2, 20]
    np.testing.assert_array_equal(layer.grads["embeddings"], [[0, 0], [5, 50], [2, 20]])


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), t=st.integers(1, 6), vocab=st.integers(1, 5),
       dim=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_matches_plain_loop_reference(n, t, vocab, dim, seed):
    rng = np.random.default_rng(seed)
    layer = Embedding(vocab, dim, dtype="float64")
    ids = rng.integers(0, vocab, size=(n, t))
    out = layer(ids)
    grad_output = rng.standard_normal(out.shape)
    layer.backward(grad_output)
    table = layer.params["embeddings"]
    expected = np.zeros_like(table)
    for i in range(n):
        for s in range(t):
            np.testing.assert_array_equal(out[i, s], table[ids[i, s]])
            expected[ids[i, s]] += grad_output[i, s]
    np.testing.assert_allclose(layer.grads["embeddings"], expected, rtol=1e-12, atol=1e-12)


def test_float32_gradient_stays_float32(rng):
    layer = Embedding(5, 4)
    out = layer(rng.integers(0, 5, size=(2, 3)))
    layer.backward(np.ones_like(out))
    assert out.dtype == np.float32
    assert layer.grads["embeddings"].dtype == np.float32


def test_model_leaves_integer_ids_uncast(rng):
    model = nnlite.Sequential([Embedding(5, 3), Dense(1)])
    ids = rng.integers(0, 5, size=(4, 6))
    assert model.predict(ids).shape == (4, 6, 1)
    assert model.layers[0]._cache.dtype.kind == "i"


def test_repr_and_config():
    layer = Embedding(100, 16)
    assert repr(layer) == ("Embedding(input_dim=100, output_dim=16, "
                           "embeddings_initializer='uniform', mask_zero=False)")
    assert Embedding(**layer.get_config()).get_config() == layer.get_config()
    masked = Embedding(100, 16, mask_zero=True)
    assert Embedding(**masked.get_config()).mask_zero is True


def test_mask_zero_marks_the_padding_id():
    ids = np.array([[0, 0, 3, 1], [2, 0, 5, 0]])
    layer = Embedding(6, 2, mask_zero=True)
    layer(ids)
    np.testing.assert_array_equal(layer.compute_mask(ids, None),
                                  [[False, False, True, True], [True, False, True, False]])
    # Without mask_zero no mask starts here, and none passes through from before.
    plain = Embedding(6, 2)
    assert plain.compute_mask(ids, None) is None
    assert plain.compute_mask(ids, np.ones(ids.shape, dtype=bool)) is None


def test_mask_zero_does_not_change_the_lookup(rng):
    ids = rng.integers(0, 6, size=(3, 4))
    plain, masked = Embedding(6, 2), Embedding(6, 2, mask_zero=True)
    plain.build((4,))
    masked.build((4,))
    masked.params["embeddings"][...] = plain.params["embeddings"]
    np.testing.assert_array_equal(masked(ids), plain(ids))


def test_default_initializer_is_keras_uniform():
    layer = Embedding(50, 20)
    layer.build((3,))
    table = layer.params["embeddings"]
    assert table.min() >= -0.05 and table.max() <= 0.05 and table.std() > 0.02


# ---- errors: one test per message --------------------------------------------------------

def test_float_ids():
    layer = Embedding(10, 2, name="tokens")
    with pytest.raises(ValueError, match=r"Embedding 'tokens' expects integer token ids, "
                                         r"got float64 input.*astype\(int\)"):
        layer(np.array([[1.0, 2.0]]))


def test_float_ids_through_a_model():
    model = nnlite.Sequential([Embedding(10, 2, name="tokens"), Dense(1)])
    with pytest.raises(ValueError, match="'tokens' expects integer token ids, got float32"):
        model.predict(np.array([[1.0, 2.0]]))


def test_negative_id():
    layer = Embedding(10, 2, name="tokens")
    with pytest.raises(ValueError, match=r"'tokens': ids must be in \[0, 10\) \(input_dim, "
                                         r"the vocabulary size\), got -1 at index \(1, 0\)"):
        layer(np.array([[1, 2], [-1, 3]]))


def test_id_too_large():
    layer = Embedding(10, 2, name="tokens")
    with pytest.raises(ValueError, match=r"ids must be in \[0, 10\).*got 10 at index \(0, 2\)"):
        layer(np.array([[1, 2, 10]]))


def test_ids_without_time_axis():
    with pytest.raises(ValueError, match=r"'tokens' expects ids of shape \(batch, timesteps\), "
                                         r"got shape \(3,\)"):
        Embedding(10, 2, name="tokens")(np.array([1, 2, 3]))


@pytest.mark.parametrize("arg", ["input_dim", "output_dim"])
def test_bad_sizes(arg):
    kwargs = {"input_dim": 10, "output_dim": 2, arg: 0}
    with pytest.raises(ValueError, match=f"Embedding: {arg} must be a positive int, got 0"):
        Embedding(**kwargs)


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="Embedding 'lonely': backward\\(\\) called before"):
        Embedding(3, 2, name="lonely").backward(np.ones((1, 1, 2)))
