"""A thin adapter over the Keras flavours, so cases never branch on versions.

Flavours: Keras 2 bundled as ``tf.keras`` (TF 1.14 ... 2.15, graph mode on TF 1),
the ``tf-keras`` package, multi-backend Keras 3, and standalone Keras 2.2/2.3 on a
TensorFlow backend. Only what differs between them lives here.
"""

import contextlib
import importlib
import os
import random
import warnings

import numpy as np

from harness.inenv import datasets, determinism, initializers, losses, names, optimizers
from harness.inenv.quirks import (
    _applies_decay,
    _batch_traced_steps,
    _executing_eagerly,
    _keras_version,
    _metric_name,
    _ordered_iterations,
)


class Framework:
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
        self.keras3 = _keras_version(self.keras).startswith("3.")
        # TF 1.x builds graphs: every variant gets its own graph and session, so
        # op ids (and with them TF 1's derived op seeds) start from zero each time.
        self.graph_mode = self.tf is not None and not _executing_eagerly(self.tf)
        self.settings = determinism.configure_tensorflow(self.tf) if self.tf is not None else {}
        self.settings["graph_mode"] = self.graph_mode
        if self.tf is not None and not self.graph_mode:
            # Values unchanged; two workers side by side no longer stall each other.
            self.settings["tf_data_autotune"] = datasets.without_autotune(self.tf)
        if self.graph_mode and flavour == "keras":
            # Standalone Keras 2.2 on TF 1 makes reference variables, and its updates
            # do not wait for the whole backward pass: a kernel may be overwritten
            # before the layers below read it for their gradients, so two runs of one
            # train_on_batch differ. Resource variables (tf.keras's own) cannot race.
            self.tf.compat.v1.enable_resource_variables()
            self.settings["resource_variables"] = True
        self.seeds = {"numpy": 1, "python": 2, "framework": 3}
        self.probe = None  # harness.inenv.probe.Probe of the run in progress, set by the worker
        self._readers = {}  # graph mode: (session id, variable ids) -> (session, variables, callable)

    # -- identity ---------------------------------------------------------
    def versions(self):
        """{"keras", "numpy", and "tensorflow" or "jax" where loaded: version string}, as imported."""
        out = {"keras": _keras_version(self.keras), "numpy": np.__version__}
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
        self._readers.clear()
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
            # Seeded before as well: clear_session builds Keras 2's graph, which keeps
            # the global seed it finds (none in a process's first variant), and
            # standalone Keras 2.3's Dropout draws from that graph's seed.
            self._seed(seeds)
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
        if self.probe is not None:
            self.probe.created(model)
        return model

    def Input(self, shape):
        """A symbolic input of ``shape`` (without the batch axis), for functional models."""
        return self.keras.Input(shape=tuple(shape))

    def model(self, inputs, outputs):
        """A functional Model from ``inputs`` to ``outputs``, recorded by the probe like sequential()."""
        model = self.keras.models.Model(inputs, outputs)
        if self.probe is not None:
            self.probe.created(model)
        return model

    def _seen(self, model):
        if self.probe is not None:
            self.probe.seen(model)

    def uniform(self, minval, maxval):
        """A RandomUniform initializer on [minval, maxval), without a seed of its own."""
        return self.keras.initializers.RandomUniform(minval=minval, maxval=maxval)

    def normal(self, mean, stddev):
        """A RandomNormal initializer (mean, stddev), without a seed of its own."""
        return self.keras.initializers.RandomNormal(mean=mean, stddev=stddev)

    def constant(self, value):
        """A Constant initializer filling every entry with ``value``."""
        return self.keras.initializers.Constant(value)

    def leaky_relu(self, negative_slope):
        """LeakyReLU: the slope is ``alpha`` in Keras 2 and ``negative_slope`` in Keras 3."""
        name = "negative_slope" if self.keras3 else "alpha"
        return self.layers.LeakyReLU(**{name: negative_slope})

    def has_layer(self, name):
        """Whether this Keras has the layer class at all (LayerNormalization came late),
        so a case can leave out what it cannot measure instead of raising."""
        return hasattr(self.layers, name)

    # -- optimisers ---------------------------------------------------------
    def adam(self, learning_rate=None):
        """Adam with Keras's defaults, or with ``learning_rate`` (see optimizer())."""
        if learning_rate is not None:
            return self.optimizer("adam", learning_rate=learning_rate)
        Adam = self.keras.optimizers.Adam
        if self.flavour == "keras":
            Adam = _ordered_iterations(self.keras, self.tf, Adam)
        return Adam()

    def sgd(self, learning_rate, decay=0.0, momentum=0.0, nesterov=False):
        """SGD with Keras 2's time-based ``decay``: lr / (1 + decay * iterations).

        Keras 2's optimizers (standalone, and tf.keras up to TF 2.10) apply it
        themselves. The optimizers of TF >= 2.11 and tf-keras refuse ``decay``, and
        Keras 3 accepts it and ignores it; there the same law goes in as a schedule,
        which they evaluate at the same step (the iterations before the update).
        Standalone Keras reads ``iterations`` unordered with its own increment in
        the same step; see _ordered_iterations."""
        SGD = self.keras.optimizers.SGD
        if self.flavour == "keras":
            SGD = _ordered_iterations(self.keras, self.tf, SGD)
        for lr_name in ("learning_rate", "lr"):
            try:
                kwargs = {lr_name: learning_rate, "momentum": momentum, "nesterov": nesterov}
                if decay:
                    kwargs["decay"] = decay
                with warnings.catch_warnings():  # Keras 3's "decay ... will be ignored"
                    warnings.simplefilter("ignore")
                    optimizer = SGD(**kwargs)
            except (TypeError, ValueError):
                continue
            if not decay or _applies_decay(optimizer, decay):
                return optimizer
            break
        schedule = self.keras.optimizers.schedules.InverseTimeDecay(
            learning_rate, decay_steps=1, decay_rate=decay
        )
        return SGD(learning_rate=schedule, momentum=momentum, nesterov=nesterov)

    # -- training -----------------------------------------------------------
    def fit(self, model, x, y, **kwargs):
        """``model.fit`` (verbose=0 unless given), every batch reported to the probe;
        {metric: one float per epoch}, with Keras < 2.3's "acc" named "accuracy"."""
        kwargs.setdefault("verbose", 0)
        if self.probe is not None:
            self._seen(model)
            if kwargs.get("shuffle", True):
                self.probe.drew(model, "fit(shuffle=True)")
            kwargs["callbacks"] = list(kwargs.get("callbacks") or []) + [self._step_callback(model)]
        history = model.fit(x, y, **kwargs).history
        return {_metric_name(k): [float(v) for v in vals] for k, vals in history.items()}

    def train_on_batch(self, model, x, y):
        """One step; returns this batch's loss (and metrics), as Keras 2 does. Keras 3
        keeps its metrics running across calls (it has no reset_metrics argument) and
        would return the mean over every call so far, so they are reset first."""
        self._seen(model)
        if self.probe is not None:
            self.probe.starting(model)
        loss = self._train_on_batch(model, x, y)
        if self.probe is not None:
            self.probe.stepped(model, loss)
        return loss

    def _step_callback(self, model):
        """A Keras callback that reports every training batch of ``fit`` to the probe.
        Only ``on_batch_end``: every Keras from 2.2 calls it once per training batch
        (tf.keras and Keras 3 through ``on_train_batch_end``'s default)."""
        probe = self.probe

        class Steps(self.keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                probe.starting(model)

            def on_batch_end(self, batch, logs=None):
                # Keras 3 on JAX keeps the state outside the model's variables during fit
                # and puts it back only at the epoch's end; a callback that reads the
                # weights asks for it (the trainer's own hook for callbacks; the same arrays,
                # so the same bits).
                sync = getattr(model, "jax_state_sync", None)
                if callable(sync):
                    sync()
                probe.stepped(model, (logs or {}).get("loss"))

        return Steps()

    def _train_on_batch(self, model, x, y):
        if not self.keras3:
            return model.train_on_batch(x, y)
        model.reset_metrics()
        model.make_train_function()
        traced = model.train_function
        steps = _batch_traced_steps(self.tf, traced)
        if steps is not None:
            model.train_function = steps
        try:
            return model.train_on_batch(x, y)
        finally:
            model.train_function = traced

    def evaluate(self, model, x, y):
        """The loss of ``model.evaluate(x, y)`` as a float (the first value when it returns metrics too)."""
        self._seen(model)
        out = model.evaluate(x, y, verbose=0)
        return float(out[0] if isinstance(out, (list, tuple)) else out)

    def predict(self, model, x):
        """``model.predict(x)`` as a numpy array (its digest recorded by the probe)."""
        self._seen(model)
        outputs = np.asarray(model.predict(x, verbose=0) if self.keras3 else model.predict(x))
        if self.probe is not None:
            self.probe.predicted(model, outputs)
        return outputs

    # -- computing outside a model ------------------------------------------
    @property
    def ops(self):
        """The backend's array functions: ``keras.ops`` in Keras 3, ``keras.backend``
        before; ``mean`` and ``std`` take (x, axis, keepdims) in both."""
        return self.keras.ops if self.keras3 else self.keras.backend

    def tensor(self, x):
        """A float32 framework tensor holding ``x`` (in TF 1, a constant in the graph)."""
        x = np.asarray(x, dtype="float32")
        return self.keras.ops.convert_to_tensor(x) if self.keras3 else self.keras.backend.constant(x)

    def to_numpy(self, tensor):
        """Evaluate a tensor (in TF 1 graph mode, in the variant's session)."""
        if self.keras3:
            return np.asarray(self.keras.ops.convert_to_numpy(tensor))
        return np.asarray(self.keras.backend.eval(tensor))

    def call_layer(self, layer, x, training=None):
        """A layer's output for ``x``, called directly (no model around it, so an
        explicit ``training`` is not overridden by ``predict``). ``training`` is only
        passed when given: old layers without the argument reject it."""
        kwargs = {} if training is None else {"training": training}
        return self.to_numpy(layer(self.tensor(x), **kwargs))

    # -- looking inside -----------------------------------------------------
    def weighted_layers(self, model):
        """(stable label, layer) for every layer with trainable weights."""
        out = []
        for layer in model.layers:
            if layer.trainable_weights:
                out.append(("%s#%d" % (type(layer).__name__, len(out)), layer))
        return out

    def weight_groups(self, model):
        """(label, trainable variables, other variables) for every layer with trainable
        weights, labelled as weighted_layers() does. Each list is read once: Keras gathers
        a layer's weights through its nested modules on every access, which made these
        reads a tenth of a Keras 2 step when the probe read them five times a layer."""
        out = []
        for layer in model.layers:
            trainable = list(layer.trainable_weights)
            if trainable:
                out.append(("%s#%d" % (type(layer).__name__, len(out)), trainable,
                            list(layer.non_trainable_weights)))
        return out

    def weight_sums(self, model):
        """Seed 001's trajectory entry: the sum of each layer's first weight array.
        Only those arrays are read, in one go: per-step trajectories of deep nets
        otherwise spend more time reading weights than training (TF 1: one session
        run per layer)."""
        self._seen(model)
        firsts = [layer.weights[0] for _, layer in self.weighted_layers(model)]
        return [np.sum(v) for v in self.read_variables(firsts)]

    def read_variables(self, variables):
        """The values of framework variables as numpy arrays, read in one go (one session
        run in graph mode).

        The probe reads every weight after every step, so this is on the hot path: in
        graph mode one callable per session and variable list (Session.make_callable:
        178 -> 69 us a step for tanh_mlp's net on TF 1.14), in eager TensorFlow the
        ReadVariableOp that ``.numpy()`` runs too, without the Keras wrappers' Python
        around it (185 -> 62 us on TF 2.14). The values are the same op's output."""
        if not variables:
            return []
        if self.graph_mode:
            return [np.asarray(v) for v in self._graph_reader(variables)()]
        if self.tf is not None:
            raw = self._raw_reads(variables)
            if raw is not None:
                return raw
        if self.keras3:
            return [np.asarray(v.numpy()) for v in variables]
        return [np.asarray(v) for v in self.keras.backend.batch_get_value(list(variables))]

    def _graph_reader(self, variables):
        """A callable fetching ``variables`` in the current Keras session (made once per
        session and list; fresh() drops them with the session)."""
        session = self.keras.backend.get_session()
        key = (id(session), tuple(id(v) for v in variables))
        found = self._readers.get(key)
        if found is None:
            # The session and variables are kept with it, so no id is reused meanwhile.
            found = self._readers[key] = (session, list(variables), session.make_callable(list(variables)))
        return found[2]

    def _raw_reads(self, variables):
        """Eager TensorFlow: each variable's ReadVariableOp, or None where one is not a
        plain resource variable (a Keras 3 variable is read through the tf.Variable it
        holds), so the caller takes the general path."""
        tf = self.tf
        handles = []
        for v in variables:
            inner = v if isinstance(v, tf.Variable) else getattr(v, "value", None)
            if not isinstance(inner, tf.Variable) or not hasattr(inner, "handle"):
                return None
            handles.append((inner.handle, inner.dtype))
        read = tf.raw_ops.ReadVariableOp
        return [np.asarray(read(resource=handle, dtype=dtype)) for handle, dtype in handles]

    def weights(self, model):
        """Every weight of ``model`` in get_weights() order, as numpy arrays."""
        self._seen(model)
        return [np.asarray(w) for w in model.get_weights()]

    def training_outputs(self, model, layers):
        """A function x -> the outputs of ``layers`` for x as a training step computes
        them (BatchNormalization on the batch's own statistics), changing no weight.

        Graph-mode and standalone Keras evaluate a backend function fed learning
        phase 1, which leaves the moving statistics' update ops out. Eager tf.keras
        and Keras 3 call the model with training=True, which does update the moving
        statistics, so every weight is put back afterwards."""
        if self.graph_mode or self.flavour == "keras":
            K = self.keras.backend
            fn = K.function(list(model.inputs) + [K.learning_phase()], [layer.output for layer in layers])
            return lambda x: [np.asarray(a) for a in fn([np.asarray(x, dtype="float32"), 1])]
        inside = self.keras.models.Model(model.inputs, [layer.output for layer in layers])

        def outputs(x):
            saved = model.get_weights()
            try:
                result = inside(np.asarray(x, dtype="float32"), training=True)
            finally:
                model.set_weights(saved)
            if not isinstance(result, (list, tuple)):  # a model of one output returns it bare
                result = [result]
            return [self.to_numpy(a) for a in result]

        return outputs

    def save_and_load(self, model, directory):
        """A save/load round trip in the flavour's own format."""
        self._seen(model)
        name = "model.keras" if self.keras3 else "model.h5"
        path = os.path.join(directory, name)
        model.save(path)
        return self.keras.models.load_model(path, compile=False)

    # -- by name: initializers, optimizers, losses; weights --------------------
    # (harness.inenv.initializers, .optimizers and .losses do the work; see their docs)
    def initializer(self, name, seed=None, **kwargs):
        """An initializer by name ("he_normal", "HeNormal", "RandomUniform", ...) with a seed."""
        return initializers.make(self.keras, name, seed=seed, **kwargs)

    def draw(self, initializer, shape, seed=None, dtype=None, **kwargs):
        """The values of an initializer (or of one named, with ``seed``) for ``shape``, as numpy."""
        return initializers.draw(self, initializer, shape, seed=seed, dtype=dtype, **kwargs)

    def optimizer(self, name, learning_rate=None, **kwargs):
        """An optimizer by name ("adam", "Adadelta", "rmsprop", "legacy.Adam") with its arguments."""
        return optimizers.make(self.keras, name, learning_rate, wrap=self._optimizer_class, **kwargs)

    def optimizer_from_config(self, config):
        """The optimizer this Keras deserializes from ``{"class_name": ..., "config": {...}}``."""
        return optimizers.from_config(self.keras, config, wrap=self._optimizer_class)

    def learning_rate(self, optimizer):
        """The optimizer's learning rate as a float (harness.inenv.optimizers.learning_rate):
        read back in the variable's dtype (0.01 in float32 is 0.009999999776482582); ValueError for
        a schedule."""
        return optimizers.learning_rate(self, optimizer)

    def set_learning_rate(self, optimizer, value):
        """Set the optimizer's learning rate in place: a variable is assigned, so a compiled
        training step sees the new value."""
        optimizers.set_learning_rate(self, optimizer, value)

    def _optimizer_class(self, cls):
        return _ordered_iterations(self.keras, self.tf, cls) if self.flavour == "keras" else cls

    def loss(self, name, **kwargs):
        """A loss object by name ("mse", "MeanSquaredError", "binary_crossentropy", ...)."""
        return losses.make(self.keras, name, **kwargs)

    def loss_value(self, loss, y_true, y_pred):
        """``loss(y_true, y_pred)`` computed by the framework (harness.inenv.losses.value): a float
        (a loss function's per-sample values averaged), or the array of a loss made with
        reduction="none"."""
        return losses.value(self, loss, y_true, y_pred)

    def class_name(self, obj):
        """"module.Class" of an object (an optimizer, a layer): record it with observe.text."""
        return names.full_name(obj)

    def set_weights(self, model, arrays):
        """Set every weight of a model or layer, in get_weights() order, from numpy arrays."""
        model.set_weights([np.asarray(a) for a in arrays])
