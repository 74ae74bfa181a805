"""Residual conv block with BatchNormalization (seed 003).

The asker's network, Keras 1 code:

    for i in range(8):
        c = Convolution2D(128, 3, 3, border_mode='same', init='he_normal')(c)
        c = LeakyReLU()(c)      # twice more: three conv + LeakyReLU in all
        c = merge([c, x], mode='sum')
        c = BatchNormalization(mode=1)(c)
        x = c

Scaled to run in seconds with the same structure: 2 blocks of 8 filters on 8x8
images with 8 channels (so the sum with the block input works), batch 16,
channels last (TF's CPU convolutions need it). ``mode=1`` no longer exists; the
block uses today's BatchNormalization (cases/samplewise_normalization.py measures
what mode 1 computed). Ten train_on_batch steps of adam on mse to a seeded target,
recording the loss and every layer's weight sum after each step, then predictions
on a probe batch before and after a save/load round trip.
"""

import numpy as np

from harness.inenv import observe
from harness.inenv.declare import same

BLOCKS = 2
FILTERS = 8  # = input channels, so that the residual sum needs no projection
SIDE = 8
BATCH = 16
STEPS = 10
LEAKY_SLOPE = 0.3  # LeakyReLU's default in Keras 1, 2 and 3, written out

VARIANTS = {"two_blocks": {"blocks": BLOCKS}}

INVARIANTS = [
    same(
        "save/load round trip keeps predictions",
        "two_blocks:predictions", "two_blocks:predictions_reloaded", bitwise=True,
        why="a saved and reloaded model must predict bit for bit the same",
    ),
]


def build(k, blocks):
    inputs = k.Input((SIDE, SIDE, FILTERS))
    x = inputs
    for _ in range(blocks):
        c = x
        for _ in range(3):
            c = k.layers.Conv2D(FILTERS, (3, 3), padding="same", kernel_initializer="he_normal")(c)
            c = k.leaky_relu(LEAKY_SLOPE)(c)
        c = k.layers.Add()([c, x])
        x = k.layers.BatchNormalization()(c)
    model = k.model(inputs, x)
    model.compile(optimizer=k.adam(), loss="mean_squared_error")
    return model


def run(k, workdir, blocks):
    images = np.random.normal(0, 1, (BATCH, SIDE, SIDE, FILTERS)).astype(np.float32)
    target = np.random.normal(0, 1, (BATCH, SIDE, SIDE, FILTERS)).astype(np.float32)
    probe = np.random.RandomState(2024).normal(0, 1, (4, SIDE, SIDE, FILTERS)).astype(np.float32)
    model = build(k, blocks)
    labels = [label for label, _ in k.weighted_layers(model)]
    initial = k.weight_sums(model)
    losses, trajectory = [], []
    for _ in range(STEPS):
        loss = k.train_on_batch(model, images, target)
        losses.append(float(np.asarray(loss).ravel()[0]))  # a list when metrics are compiled
        trajectory.append(k.weight_sums(model))
    predictions = k.predict(model, probe)
    reloaded = k.predict(k.save_and_load(model, workdir), probe)
    axes = ["sample", "row", "column", "channel"]
    return {
        "initial_weight_sums": observe.series(initial, axis="layer"),
        "loss": observe.series(losses, axis="step", dtype="float32"),
        "trajectory": observe.table(trajectory, axes=("step", "layer"), labels=labels),
        "final_weight_sums": observe.series(k.weight_sums(model), axis="layer"),
        "final_weights_digest": observe.digest(k.weights(model)),
        "predictions": observe.array(predictions, axes=axes),
        "predictions_reloaded": observe.array(reloaded, axes=axes),
    }
