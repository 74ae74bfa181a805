"""Historic regressions, re-created by patching the adapter ``k`` from outside.

Each context manager changes how a case builds or trains its model for the
duration of one run and then puts everything back; the product code has no switch
for any of this. Used by the cases in regressions/injected.
"""

import contextlib
import random

import numpy as np

_ABSENT = object()


@contextlib.contextmanager
def _instance_attribute(obj, name, value):
    """Shadow ``obj.name`` with ``value`` for a while (an attribute of this one object)."""
    before = obj.__dict__.get(name, _ABSENT)
    setattr(obj, name, value)
    try:
        yield
    finally:
        if before is _ABSENT:
            delattr(obj, name)
        else:
            setattr(obj, name, before)


class _Layers:
    """``k.layers`` with a hook run before each layer is constructed."""

    def __init__(self, layers, before_build):
        self._layers = layers
        self._before_build = before_build

    def __getattr__(self, name):
        factory = getattr(self._layers, name)
        if not isinstance(factory, type):
            return factory

        def build(*args, **kwargs):
            self._before_build(name, kwargs)
            return factory(*args, **kwargs)

        return build


@contextlib.contextmanager
def op_seed_from_layer_count(k):
    """TF 1.x graph mode: an op's seed was the graph seed plus the number of ops
    already in the graph, so every layer built before an initializer (a no-op
    Activation included) shifted its seed. Here: each Dense kernel's seed is the
    framework seed plus the number of layers built so far."""
    built = [0]

    def before_build(name, kwargs):
        built[0] += 1
        if name == "Dense" and "kernel_initializer" not in kwargs:
            kwargs["kernel_initializer"] = k.keras.initializers.GlorotUniform(seed=k.seeds["framework"] + built[0])

    with _instance_attribute(k, "layers", _Layers(k.layers, before_build)):
        yield


@contextlib.contextmanager
def activation_draws_once(k):
    """A no-op layer that consumes one draw of the random stream when it is
    constructed, as a Keras 3 layer that creates its own unseeded SeedGenerator
    (Dropout, say) does. Keras 3's unseeded initializers take their seeds from that
    stream (Python's ``random.randint``) when they are built, so every initializer
    built after the layer gets other numbers."""

    def before_build(name, kwargs):
        if name == "Activation":
            random.randint(1, int(1e9))

    with _instance_attribute(k, "layers", _Layers(k.layers, before_build)):
        yield


@contextlib.contextmanager
def batchnorm_epsilon(k, epsilon):
    """BatchNormalization with another default epsilon (Keras uses 1e-3)."""

    def before_build(name, kwargs):
        if name == "BatchNormalization":
            kwargs.setdefault("epsilon", epsilon)

    with _instance_attribute(k, "layers", _Layers(k.layers, before_build)):
        yield


@contextlib.contextmanager
def one_ulp_after_fit(k):
    """After training, the first weight of the last weighted layer moves by one ULP
    (towards +inf): the smallest change a float32 weight can undergo."""
    fit = k.fit

    def fit_then_nudge(model, x, y, **kwargs):
        history = fit(model, x, y, **kwargs)
        layer = k.weighted_layers(model)[-1][1]
        weights = layer.get_weights()
        kernel = weights[0]
        kernel.flat[0] = np.nextafter(kernel.flat[0], np.array(np.inf, dtype=kernel.dtype))
        layer.set_weights(weights)
        return history

    with _instance_attribute(k, "fit", fit_then_nudge):
        yield


@contextlib.contextmanager
def one_ulp_initial(k):
    """When the model is created, its first initial weight moves by one ULP (towards
    +inf): the smallest change of the state training starts from."""
    sequential = k.sequential

    def sequential_then_nudge(layers):
        model = sequential(layers)
        weights = model.get_weights()
        weights[0].flat[0] = np.nextafter(weights[0].flat[0], np.array(np.inf, dtype=weights[0].dtype))
        model.set_weights(weights)
        return model

    with _instance_attribute(k, "sequential", sequential_then_nudge):
        yield
