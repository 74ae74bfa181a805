"""Linear autoencoder (seed 001, "Batch normalization, yes or no?").

x = N(0, 1) of shape (100, 12) after np.random.seed(1), random.seed(2) and a
framework seed of 3; Dense(8) -> [BatchNormalization] -> [Activation('linear')] ->
Dense(12) -> [Activation('linear')]; adam, mse; fit(epochs=20,
validation_split=0.1, shuffle=False). Then, from the same seeded start, the
answer's weight-sum trajectory: train_on_batch over batches of 10, 20 epochs, the
sum of each layer's first weight array after every step.

On TF 1.14 the no-op Activation('linear') changed the results (val_loss 0.7751
with it, 1.1230 with it and BN): TF 1.x derives each op's seed from the number of
ops already in the graph, so an extra layer shifts every later initializer.
"""

import numpy as np

from harness.inenv import observe
from harness.inenv.declare import same

VARIANTS = {
    "plain": {"bn": False, "identity": False},
    "identity": {"bn": False, "identity": True},
    "bn": {"bn": True, "identity": False},
    "bn_identity": {"bn": True, "identity": True},
}

INVARIANTS = [
    same(
        "identity activation changes nothing",
        "plain", "identity",
        observables=["initial_weight_sums", "loss", "val_loss", "trajectory", "final_weight_sums"],
        why="Activation('linear') is the identity; inserting it must not move a single number",
    ),
    same(
        "identity activation changes nothing with BN",
        "bn", "bn_identity",
        observables=["initial_weight_sums", "loss", "val_loss", "trajectory", "final_weight_sums"],
        why="Activation('linear') is the identity; inserting it must not move a single number",
    ),
] + [
    same(
        "fit matches the train_on_batch loop (%s)" % v,
        v + ":trajectory_final", v + ":fit_batch10_weight_sums",
        why="fit(batch_size=10, shuffle=False) takes the same steps as the loop",
    )
    for v in VARIANTS
] + [
    same(
        "save/load round trip keeps predictions (%s)" % v,
        v + ":predictions", v + ":predictions_reloaded", bitwise=True,
        why="a saved and reloaded model must predict bit for bit the same",
    )
    for v in VARIANTS
]

EPOCHS = 20
BATCH = 10


def build(k, bn, identity):
    layers = [k.layers.Dense(8, input_shape=(12,))]
    if bn:
        layers.append(k.layers.BatchNormalization())
    if identity:
        layers.append(k.layers.Activation("linear"))
    layers.append(k.layers.Dense(12))
    if identity:
        layers.append(k.layers.Activation("linear"))
    model = k.sequential(layers)
    model.compile(optimizer=k.adam(), loss="mean_squared_error")
    return model


def run(k, workdir, bn, identity):
    x_train = np.random.normal(0, 1, (100, 12))
    probe = np.random.RandomState(2024).normal(0, 1, (10, 12))
    model = build(k, bn, identity)
    initial = k.weight_sums(model)
    history = k.fit(model, x_train, x_train, epochs=EPOCHS, validation_split=0.1, shuffle=False)
    predictions = k.predict(model, probe)
    reloaded = k.predict(k.save_and_load(model, workdir), probe)
    out = {
        "initial_weight_sums": observe.series(initial, axis="layer"),
        "loss": observe.series(history["loss"], dtype="float32"),
        "val_loss": observe.series(history["val_loss"], dtype="float32"),
        "final_weight_sums": observe.series(k.weight_sums(model), axis="layer"),
        "final_weights_digest": observe.digest(k.weights(model)),
        "predictions": observe.array(predictions, axes=["sample", "output"]),
        "predictions_reloaded": observe.array(reloaded, axes=["sample", "output"]),
    }

    # The answer's script: the same seeded start, then train_on_batch step by step.
    with k.fresh():
        x_train = np.random.normal(0, 1, (100, 12))
        model = build(k, bn, identity)
        labels = [label for label, _ in k.weighted_layers(model)]
        trajectory = []
        for _ in range(EPOCHS):
            for i in range(9):
                x = x_train[i * BATCH:(i + 1) * BATCH]
                k.train_on_batch(model, x, x)
                trajectory.append(k.weight_sums(model))
    out["trajectory"] = observe.table(trajectory, axes=("step", "layer"), labels=labels)
    out["trajectory_final"] = observe.series(trajectory[-1], axis="layer")

    # The same steps through fit: 90 samples, batches of 10, no shuffling.
    with k.fresh():
        x_train = np.random.normal(0, 1, (100, 12))
        model = build(k, bn, identity)
        k.fit(model, x_train[:90], x_train[:90], epochs=EPOCHS, batch_size=BATCH, shuffle=False)
        out["fit_batch10_weight_sums"] = observe.series(k.weight_sums(model), axis="layer")
    return out
