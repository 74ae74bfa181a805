"""Sample-wise normalization (seed 003, "Keras BatchNormalization: what is sample-wise normalization?").

Keras 1's ``BatchNormalization(mode=1)`` computed, per sample,

    m = K.mean(x, axis=-1); std = K.std(x, axis=-1); x_normed = (x - m) / (std + epsilon)

The asker fed it a (batch, 128, 56, 56) channels-first tensor and expected each
sample normalized over its channels; the answer: mode 1 assumes 2-D input, and
axis -1 is simply the last axis, which on 4-D input is the last spatial axis.
Mode 1 is gone; its nearest heir is ``LayerNormalization(axis=-1)``, which divides
by sqrt(var + epsilon), not std + epsilon.

Each variant measures, on seeded 2-D and 4-D inputs, how far the framework's
results are from float64 numpy oracles of what each computation is documented to
do: the Keras 1 formula through the backend's K.mean/K.std, LayerNormalization,
and BatchNormalization in training mode (batch statistics) and inference mode
(moving statistics). It also records the differences the seed is about: Keras 1
formula vs LayerNormalization, and on 4-D input "normalize over axis -1" vs
"normalize over the channel axis 1" (the seed's shape scaled down to (4, 16, 7, 7)).
A layer this Keras does not have is left out (its observables show as missing).
"""

import numpy as np

from harness.inenv import observe
from harness.inenv.declare import at_most, claim

EPSILON = 1e-3  # Keras 1's BatchNormalization default; passed explicitly to every layer

# Float32 round-off bound. Outputs are a few units at most (standardized values, gamma
# and beta are O(1)), so one ULP is <= 5e-7; a normalization rounds a mean, a variance,
# a square root, a division and an affine step, a few ULPs in all, ~2e-6 at worst.
# 1e-5 leaves a 5x margin for reduction order, yet a wrong formula (std + eps for
# sqrt(var + eps) moves outputs by 0.04 to 0.5 here) or a wrong axis (O(1)) is far beyond it.
ORACLE_BOUND = 1e-5

VARIANTS = {
    # Mode 1's contract: (batch, features).
    "dense_2d": {"shape": (16, 32), "channel_axis": -1},
    # The seed's (batch, 128, 56, 56), scaled down with the same meaning: channels first.
    "conv_4d": {"shape": (4, 16, 7, 7), "channel_axis": 1},
}

ORACLE_OBSERVABLES = (
    "keras1_formula_vs_oracle",
    "keras1_channel_axis_vs_oracle",
    "batchnorm_training_vs_oracle",
    "batchnorm_inference_vs_oracle",
)

INVARIANTS = [
    at_most(
        "%s matches its numpy oracle (%s)" % (name[:-len("_vs_oracle")], variant),
        variant, name, ORACLE_BOUND,
        why="the layer computes a documented formula; float32 round-off stays below %g" % ORACLE_BOUND,
    )
    for variant in VARIANTS
    for name in ORACLE_OBSERVABLES
] + [
    # LayerNormalization is absent from some Keras versions, so its own observable may
    # be missing; the worst deviation over every layer present always exists.
    at_most(
        "every normalization present, LayerNormalization included, matches its oracle (%s)" % variant,
        variant, "worst_oracle_deviation", ORACLE_BOUND,
        why="see the per-layer invariants; this one also covers LayerNormalization where it exists",
    )
    for variant in VARIANTS
] + [
    at_most(
        "on 2-D input axis -1 is the feature axis",
        "dense_2d", "last_axis_minus_channel_axis", 0.0,
        why="mode 1 assumes (batch, features): there axis -1 and axis 1 are the same axis",
    ),
]

CLAIMS = [
    claim(
        "on 4-D input axis -1 is not the channel axis",
        "K.mean(x, axis=-1) reduces the last axis; on a (batch, channels, h, w) tensor that is a "
        "spatial axis, so mode 1 does not normalize over the channels",
        ("conv_4d", "last_axis_minus_channel_axis", "max"), ">", 0.1,
    ),
]

# The oracle deviations are round-off: compare them with their golden values up to
# the bound, not relative to their own ~1e-7 size.
TOLERANCES = {
    name: {"atol": ORACLE_BOUND}
    for name in ORACLE_OBSERVABLES + ("layernorm_vs_oracle", "worst_oracle_deviation")
}


# -- float64 oracles ------------------------------------------------------------
def keras1_oracle(x, axis):
    """Keras 1 mode 1: (x - mean) / (std + epsilon), population std."""
    x = x.astype(np.float64)
    m = x.mean(axis=axis, keepdims=True)
    return (x - m) / (x.std(axis=axis, keepdims=True) + EPSILON)


def standardize_oracle(x, reduce_axes, gamma, beta, mean=None, var=None):
    """gamma * (x - mean) / sqrt(var + epsilon) + beta, the statistics taken over
    ``reduce_axes`` unless given; gamma, beta and given statistics run along the last axis."""
    x = x.astype(np.float64)
    if mean is None:
        mean = x.mean(axis=reduce_axes, keepdims=True)
        var = x.var(axis=reduce_axes, keepdims=True)
    # 1-D arrays broadcast along the last axis.
    gamma, beta, mean, var = [np.asarray(v, dtype=np.float64) for v in (gamma, beta, mean, var)]
    return gamma * (x - mean) / np.sqrt(var + EPSILON) + beta


def max_deviation(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


# -- the framework's side ---------------------------------------------------------
def keras1_formula(k, x, axis):
    """The seed's code, through the backend's own mean and std."""
    ops = k.ops
    t = k.tensor(x)
    m = ops.mean(t, axis=axis, keepdims=True)
    std = ops.std(t, axis=axis, keepdims=True)
    return k.to_numpy((t - m) / (std + EPSILON))


def seeded_input(shape):
    """N(0, 1) plus an N(0, 1) offset per sample and channel (axis 1), so that every
    axis choice gives a different answer, times a scale per sample from 0.1 to 10.
    Offsets stay within a few standard deviations: the round-off of (x - mean) / std
    grows with |x| / std, and ORACLE_BOUND assumes a well-conditioned input."""
    scale = np.logspace(-1, 1, shape[0]).reshape((-1,) + (1,) * (len(shape) - 1))
    offset = np.random.normal(0, 1, shape[:2]).reshape(shape[:2] + (1,) * (len(shape) - 2))
    return ((np.random.normal(0, 1, shape) + offset) * scale).astype(np.float32)


def batchnorm_observables(k, x, channel_axis):
    """BatchNormalization over the channels, with seeded gamma, beta and moving
    statistics (the defaults 1, 0, 0, 1 would make inference mode a near no-op).

    It sees the channels-last layout with its default axis=-1: TF 1's CPU kernel
    rejects axis=1 on 4-D input ("FusedBatchNorm only supports NHWC")."""
    x = np.ascontiguousarray(np.moveaxis(x, channel_axis, -1))
    n = x.shape[-1]
    reduce_axes = tuple(range(x.ndim - 1))
    layer = k.layers.BatchNormalization(axis=-1, epsilon=EPSILON)
    k.call_layer(layer, x)  # builds the weights
    gamma, beta = 1 + 0.5 * np.random.normal(0, 1, n), 0.5 * np.random.normal(0, 1, n)
    # Moving statistics near the batch's own, as after training: the outputs stay O(1),
    # where ORACLE_BOUND is a few ULPs, and inference still differs from training mode.
    batch_mean, batch_std = x.mean(axis=reduce_axes), x.std(axis=reduce_axes)
    moving_mean = batch_mean + 0.5 * batch_std * np.random.normal(0, 1, n)
    moving_var = batch_std ** 2 * np.random.uniform(0.5, 2.0, n)
    layer.set_weights([w.astype(np.float32) for w in (gamma, beta, moving_mean, moving_var)])
    gamma, beta, moving_mean, moving_var = layer.get_weights()
    # Inference first: an eager call in training mode also updates the moving statistics.
    inference = k.call_layer(layer, x, training=False)
    training = k.call_layer(layer, x, training=True)
    return {
        "batchnorm_inference_vs_oracle": max_deviation(inference, standardize_oracle(
            x, reduce_axes, gamma, beta, moving_mean, moving_var)),
        "batchnorm_training_vs_oracle": max_deviation(training, standardize_oracle(
            x, reduce_axes, gamma, beta)),
    }


def layernorm_observables(k, x, keras1_last_axis):
    """LayerNormalization(axis=-1) at its initial gamma = 1, beta = 0, so that its
    difference from the Keras 1 formula is the denominator alone."""
    layer = k.layers.LayerNormalization(axis=-1, epsilon=EPSILON)
    out = k.call_layer(layer, x)
    gamma, beta = layer.get_weights()
    return {
        "layernorm_vs_oracle": max_deviation(out, standardize_oracle(x, -1, gamma, beta)),
        "keras1_minus_layernorm": max_deviation(keras1_last_axis, out),
    }


def run(k, workdir, shape, channel_axis):
    x = seeded_input(shape)
    last_axis = keras1_formula(k, x, -1)
    channel = keras1_formula(k, x, channel_axis)
    values = {
        "keras1_formula_vs_oracle": max_deviation(last_axis, keras1_oracle(x, -1)),
        "keras1_channel_axis_vs_oracle": max_deviation(channel, keras1_oracle(x, channel_axis)),
        "last_axis_minus_channel_axis": max_deviation(last_axis, channel),
    }
    values.update(batchnorm_observables(k, x, channel_axis))
    if k.has_layer("LayerNormalization"):
        values.update(layernorm_observables(k, x, last_axis))
    values["worst_oracle_deviation"] = max(v for name, v in values.items() if name.endswith("_vs_oracle"))
    return {name: observe.scalar(v) for name, v in sorted(values.items())}
