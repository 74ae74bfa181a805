"""A thin adapter over the Keras flavours, so cases never branch on versions.

Flavours: Keras 2 bundled as ``tf.keras`` (TF 1.14 ... 2.15, graph mode on TF 1),
the ``tf-keras`` package, multi-backend Keras 3, and standalone Keras 2.2/2.3 on a
TensorFlow backend. Only what differs between them lives here.
"""

import contextlib
import hashlib
import importlib
import os
import random

import numpy as np

from harness.inenv import determinism


class Framework(object):
    def __init__(self, flavour, backend="tensorflow"):
        self.flavour = flavour
        self.backend = backend
        self.tf = importlib.import_module("tensorflow") if backend == "tensorflow" else None
        if flavour == "tf.keras":
            self.keras = self.tf.keras
        elif flavour == "tf-keras":
            self.keras = importlib.import_module("tf_keras")
        elif flavour in ("keras3", "keras"):
            self.keras = importlib.import_module("keras")
        else:
            raise ValueError("unknown Keras flavour: %r" % (flavour,))
        self.layers = self.keras.layers
        self.keras3 = self.keras.__version__.startswith("3.")
        # TF 1.x builds graphs: every variant gets its own graph and session, so
        # op ids (and with them TF 1's derived op seeds) start from zero each time.
        self.graph_mode = self.tf is not None and not _executing_eagerly(self.tf)
        self.settings = determinism.configure_tensorflow(self.tf) if self.tf is not None else {}
        self.settings["graph_mode"] = self.graph_mode
        self.seeds = {"numpy": 1, "python": 2, "framework": 3}

    # -- identity ---------------------------------------------------------
    def versions(self):
        out = {"keras": self.keras.__version__, "numpy": np.__version__}
        if self.tf is not None:
            out["tensorflow"] = self.tf.__version__
        if self.backend == "jax":
            out["jax"] = importlib.import_module("jax").__version__
        return out

    # -- a clean, seeded start -------------------------------------------
    @contextlib.contextmanager
    def fresh(self, seeds=None):
        """A full reset followed by the case's seeds, in the seed scripts' order.

        The worker opens one around every variant; a case opens another for a
        second phase that must start from the same state (seed 001's two scripts).
        """
        if seeds is None:
            seeds = self.seeds
        self.seeds = seeds
        if self.graph_mode:
            tf = self.tf
            graph = tf.Graph()
            with graph.as_default():
                config = tf.ConfigProto(
                    intra_op_parallelism_threads=determinism.THREADS,
                    inter_op_parallelism_threads=determinism.THREADS,
                )
                session = tf.Session(graph=graph, config=config)
                with session.as_default():
                    self.keras.backend.set_session(session)
                    self._seed(seeds)
                    try:
                        yield
                    finally:
                        session.close()
        else:
            self.keras.backend.clear_session()
            self._seed(seeds)
            yield

    def _seed(self, seeds):
        np.random.seed(seeds.get("numpy", 1))
        random.seed(seeds.get("python", 2))
        if self.tf is not None:
            if hasattr(self.tf, "set_random_seed"):
                self.tf.set_random_seed(seeds.get("framework", 3))
            else:
                self.tf.random.set_seed(seeds.get("framework", 3))

    # -- building -----------------------------------------------------------
    def sequential(self, layers):
        """A Sequential model; give the first layer ``input_shape=`` as the seeds do
        (Keras 3 still accepts it, and Keras 2 only reloads such models from h5)."""
        model = self.keras.models.Sequential()
        for layer in layers:
            model.add(layer)
        return model

    def Input(self, shape):
        return self.keras.Input(shape=tuple(shape))

    def model(self, inputs, outputs):
        return self.keras.models.Model(inputs, outputs)

    def uniform(self, minval, maxval):
        return self.keras.initializers.RandomUniform(minval=minval, maxval=maxval)

    def normal(self, mean, stddev):
        return self.keras.initializers.RandomNormal(mean=mean, stddev=stddev)

    def constant(self, value):
        return self.keras.initializers.Constant(value)

    # -- optimisers ---------------------------------------------------------
    def adam(self):
        return self.keras.optimizers.Adam()

    def sgd(self, learning_rate, decay=0.0, momentum=0.0, nesterov=False):
        """SGD with Keras 2's time-based ``decay``; where ``decay`` no longer exists,
        the same law as a schedule: lr / (1 + decay * iterations)."""
        SGD = self.keras.optimizers.SGD
        for lr_name in ("learning_rate", "lr"):
            try:
                kwargs = {lr_name: learning_rate, "momentum": momentum, "nesterov": nesterov}
                if decay:
                    kwargs["decay"] = decay
                return SGD(**kwargs)
            except (TypeError, ValueError):
                continue
        schedule = self.keras.optimizers.schedules.InverseTimeDecay(
            learning_rate, decay_steps=1, decay_rate=decay
        )
        return SGD(learning_rate=schedule, momentum=momentum, nesterov=nesterov)

    # -- training -----------------------------------------------------------
    def fit(self, model, x, y, **kwargs):
        kwargs.setdefault("verbose", 0)
        history = model.fit(x, y, **kwargs).history
        return {_metric_name(k): [float(v) for v in vals] for k, vals in history.items()}

    def train_on_batch(self, model, x, y):
        return model.train_on_batch(x, y)

    def evaluate(self, model, x, y):
        out = model.evaluate(x, y, verbose=0)
        return float(out[0] if isinstance(out, (list, tuple)) else out)

    def predict(self, model, x):
        return np.asarray(model.predict(x, verbose=0) if self.keras3 else model.predict(x))

    # -- looking inside -----------------------------------------------------
    def weighted_layers(self, model):
        """(stable label, layer) for every layer with trainable weights."""
        out = []
        for layer in model.layers:
            if layer.trainable_weights:
                out.append(("%s#%d" % (type(layer).__name__, len(out)), layer))
        return out

    def weight_sums(self, model):
        """Seed 001's trajectory entry: the sum of each layer's first weight array."""
        return [np.sum(layer.get_weights()[0]) for _, layer in self.weighted_layers(model)]

    def weights(self, model):
        return [np.asarray(w) for w in model.get_weights()]

    def save_and_load(self, model, directory):
        """A save/load round trip in the flavour's own format."""
        name = "model.keras" if self.keras3 else "model.h5"
        path = os.path.join(directory, name)
        model.save(path)
        return self.keras.models.load_model(path, compile=False)


def _executing_eagerly(tf):
    fn = getattr(tf, "executing_eagerly", None)
    return bool(fn()) if fn is not None else False


def _metric_name(name):
    # Keras < 2.3 says "acc"; everything later says "accuracy".
    if name in ("acc", "val_acc"):
        return name.replace("acc", "accuracy")
    return name


def weights_digest(arrays):
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(("%s%s" % (a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return "sha256:" + h.hexdigest()
