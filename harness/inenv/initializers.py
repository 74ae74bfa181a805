"""Initializers by name, with a seed, from TF 1.14 to Keras 3.

    k.initializer("he_normal", seed=1)                   # for kernel_initializer=
    k.initializer("RandomUniform", minval=-0.05, maxval=0.05, seed=0)
    k.draw("glorot_uniform", (512, 2048), seed=1)        # its values, as numpy

Names: any spelling this Keras exports (``he_normal`` in TF 1.x, ``HeNormal`` in
TF 2 and Keras 3, ``glorot_uniform``, ``RandomNormal``, ``TruncatedNormal``, ...).
"""

import numpy as np

from harness.inenv import names


def find(keras, name):
    """The initializer class (or TF 1.x factory function) that ``name`` means."""
    found = names.find(keras.initializers, name, callable)
    if found is None:
        raise ValueError("this Keras has no initializer %r; it has: %s" % (
            name, ", ".join(names.public(keras.initializers, _is_initializer))))
    return found


def _is_initializer(obj):
    name = getattr(obj, "__name__", "")
    return isinstance(obj, type) or (callable(obj) and name[:1].islower()
                                      and name not in ("get", "serialize", "deserialize"))


def make(keras, name, seed=None, **kwargs):
    """An initializer object; ``seed`` is passed only when given (zeros and ones take none)."""
    if seed is not None:
        kwargs["seed"] = seed
    return find(keras, name)(**kwargs)


def draw(fw, initializer, shape, seed=None, dtype=None, **kwargs):
    """The values ``initializer`` (an object, or a name made with ``seed`` and
    ``kwargs``) gives for ``shape``, as a numpy array. In TF 1.x graph mode they are
    evaluated in the variant's session."""
    if isinstance(initializer, str):
        initializer = make(fw.keras, initializer, seed=seed, **kwargs)
    elif seed is not None or kwargs:
        raise ValueError("seed and arguments go with an initializer's name, not with an initializer object")
    shape = tuple(int(n) for n in shape)
    values = initializer(shape) if dtype is None else initializer(shape, dtype=dtype)
    return np.asarray(fw.to_numpy(values) if not isinstance(values, np.ndarray) else values)
