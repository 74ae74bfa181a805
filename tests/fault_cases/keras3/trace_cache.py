"""The adapter's train_on_batch against Keras's own, call for call, bit for bit.

Keras 3.0-3.6 on TensorFlow trace their train function anew on every
``model.train_on_batch`` call; the adapter keeps one trace per batch content
(harness.inenv.quirks) and must give exactly what Keras gives: the same loss and the
same weights after every call, through repeated batches, another batch shape, the
same values as float64, weights set between calls, a frozen layer, a changed
learning rate and a recompiled model. Variant "keras" calls Keras directly (as a
user's script does); "adapter" goes through ``k.train_on_batch``."""

import numpy as np

from harness.inenv import observe
from harness.inenv.declare import same

VARIANTS = {"adapter": {"direct": False}, "keras": {"direct": True}}
INVARIANTS = [same("the adapter's train_on_batch is Keras's own", "adapter", "keras",
                   why="the trace cache must change the time, never the bits")]


def run(k, workdir, direct):
    def step(model, x, y):
        if not direct:
            return k.train_on_batch(model, x, y)
        model.reset_metrics()  # the adapter's semantics: this batch's loss, not a running mean
        return model.train_on_batch(x, y)

    rng = np.random.RandomState(0)
    batches = [(rng.normal(size=(8, 6)).astype("float32"), rng.normal(size=(8, 2)).astype("float32"))
               for _ in range(3)]
    batches.append((rng.normal(size=(5, 6)).astype("float32"), rng.normal(size=(5, 2)).astype("float32")))
    L = k.layers
    model = k.sequential([L.Dense(16, input_shape=(6,)), L.BatchNormalization(), L.Activation("tanh"),
                          L.Dense(2)])
    model.compile(optimizer=k.sgd(0.05, momentum=0.9), loss="mse")
    losses, sums = [], []

    def record(loss):
        losses.append(float(np.ravel(np.asarray(loss, dtype=np.float64))[0]))
        sums.append([float(np.sum(w)) for w in k.weights(model)])  # every array, frozen or not

    for b in [0, 1, 0, 2, 0, 3, 0, 1, 3, 3]:
        record(step(model, *batches[b]))
    weights = k.weights(model)
    k.set_weights(model, [w * 0.5 for w in weights])
    record(step(model, *batches[0]))
    k.set_weights(model, weights)
    record(step(model, *batches[0]))
    record(step(model, batches[0][0].astype("float64"), batches[0][1]))
    model.layers[0].trainable = False
    record(step(model, *batches[1]))
    model.layers[0].trainable = True
    record(step(model, *batches[0]))
    model.compile(optimizer=k.adam(), loss="mse")
    for b in [0, 1, 0]:
        record(step(model, *batches[b]))
    return {"loss": observe.series(losses, axis="call", dtype="float32"),
            "weight_sums": observe.table(sums, axes=("call", "array")),
            "final_weights_digest": observe.digest(k.weights(model))}
