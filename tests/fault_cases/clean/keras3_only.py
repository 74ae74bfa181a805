"""Calls keras.ops, an API that exists only in Keras 3: in a Keras 2 environment the
case raises AttributeError, in a Keras 3 environment it runs."""

from harness.inenv import observe


def run(k, workdir):
    ops = k.keras.ops
    return {"three": observe.scalar(float(ops.convert_to_numpy(ops.add(1.0, 2.0))))}
