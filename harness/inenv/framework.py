"""A thin adapter over the Keras flavours, so cases never branch on versions.

Flavours: Keras 2 bundled as ``tf.keras`` (TF 1.14 ... 2.15, graph mode on TF 1),
the ``tf-keras`` package, multi-backend Keras 3, and standalone Keras 2.2/2.3 on a
TensorFlow backend. Only what differs between them lives here.
"""

import collections
import contextlib
import hashlib
import importlib
import os
import random
import warnings
import weakref

import numpy as np

from harness.inenv import determinism, initializers, losses, names, optimizers


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
        self.keras3 = _keras_version(self.keras).startswith("3.")
        # TF 1.x builds graphs: every variant gets its own graph and session, so
        # op ids (and with them TF 1's derived op seeds) start from zero each time.
        self.graph_mode = self.tf is not None and not _executing_eagerly(self.tf)
        self.settings = determinism.configure_tensorflow(self.tf) if self.tf is not None else {}
        self.settings["graph_mode"] = self.graph_mode
        if self.graph_mode and flavour == "keras":
            # Standalone Keras 2.2 on TF 1 makes reference variables, and its updates
            # do not wait for the whole backward pass: a kernel may be overwritten
            # before the layers below read it for their gradients, so two runs of one
            # train_on_batch differ. Resource variables (tf.keras's own) cannot race.
            self.tf.compat.v1.enable_resource_variables()
            self.settings["resource_variables"] = True
        self.seeds = {"numpy": 1, "python": 2, "framework": 3}
        self.probe = None  # harness.inenv.probe.Probe of the run in progress, set by the worker

    # -- identity ---------------------------------------------------------
    def versions(self):
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
        return self.keras.Input(shape=tuple(shape))

    def model(self, inputs, outputs):
        model = self.keras.models.Model(inputs, outputs)
        if self.probe is not None:
            self.probe.created(model)
        return model

    def _seen(self, model):
        if self.probe is not None:
            self.probe.seen(model)

    def uniform(self, minval, maxval):
        return self.keras.initializers.RandomUniform(minval=minval, maxval=maxval)

    def normal(self, mean, stddev):
        return self.keras.initializers.RandomNormal(mean=mean, stddev=stddev)

    def constant(self, value):
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
        self._seen(model)
        out = model.evaluate(x, y, verbose=0)
        return float(out[0] if isinstance(out, (list, tuple)) else out)

    def predict(self, model, x):
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
        run in graph mode)."""
        if not variables:
            return []
        if self.keras3:
            return [np.asarray(v.numpy()) for v in variables]
        return [np.asarray(v) for v in self.keras.backend.batch_get_value(list(variables))]

    def weights(self, model):
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
        return optimizers.learning_rate(self, optimizer)

    def set_learning_rate(self, optimizer, value):
        optimizers.set_learning_rate(self, optimizer, value)

    def _optimizer_class(self, cls):
        return _ordered_iterations(self.keras, self.tf, cls) if self.flavour == "keras" else cls

    def loss(self, name, **kwargs):
        """A loss object by name ("mse", "MeanSquaredError", "binary_crossentropy", ...)."""
        return losses.make(self.keras, name, **kwargs)

    def loss_value(self, loss, y_true, y_pred):
        return losses.value(self, loss, y_true, y_pred)

    def class_name(self, obj):
        """"module.Class" of an object (an optimizer, a layer): record it with observe.text."""
        return names.full_name(obj)

    def set_weights(self, model, arrays):
        """Set every weight of a model or layer, in get_weights() order, from numpy arrays."""
        model.set_weights([np.asarray(a) for a in arrays])


def _keras_version(keras):
    # TF 2.15's tf.keras is a lazy loader of keras.api._v2.keras, which has no __version__.
    version = getattr(keras, "__version__", None)
    return version if version is not None else importlib.import_module("keras").__version__


def _executing_eagerly(tf):
    fn = getattr(tf, "executing_eagerly", None)
    return bool(fn()) if fn is not None else False


def _ordered_iterations(keras, tf, optimizer_class):
    """A standalone-Keras optimizer whose step count is incremented after every other
    update of the step. Keras 2.2/2.3 add ``iterations += 1`` and read ``iterations``
    (Adam's bias correction, SGD's decay) in the same graph step with no order
    between them, so two runs differ in the last bits. Ordering the increment last
    makes every read see the step's own count, as tf.keras's optimizers do."""
    K = keras.backend
    symbolic = getattr(K, "symbolic", lambda fn: fn)  # Keras 2.3 builds in its own graph

    class Ordered(optimizer_class):
        @symbolic
        def get_updates(self, loss, params):
            updates = super(Ordered, self).get_updates(loss, params)
            with tf.control_dependencies(updates[1:]):
                updates[0] = K.update_add(self.iterations, 1)
            self.updates = updates
            return updates

    Ordered.__name__ = optimizer_class.__name__
    return Ordered


def _retracing_step_loop(train_function):
    """The Python step loop inside Keras's train function, where that function
    retraces on every train_on_batch call. Keras 3 on TensorFlow before 3.9 (3.0, 3.4
    and 3.6 here) hands train_on_batch's batch to a tf.function as a new Python
    generator each time, so every call traces again, with the batch baked into the
    graph as constants, and the function keeps every trace: a thousand calls spend
    minutes comparing signatures. None where Keras does not retrace (Keras 3.9
    iterates the generator eagerly and passes the batch as an argument: faster, but
    other last bits, so that is not done here; see _BatchTracedSteps)."""
    loop = getattr(train_function, "python_function", None)
    if getattr(loop, "__name__", "") == "one_step_on_iterator":
        return loop
    return None


# Keras's train function -> its _BatchTracedSteps. Weak: a recompiled model (a new
# train function) drops the old traces with the old function.
_STEP_CACHES = weakref.WeakKeyDictionary()


def _batch_traced_steps(tf, train_function):
    """What train_on_batch should call instead of ``train_function``, or None where
    Keras's own function is fine (it does not retrace per call)."""
    loop = _retracing_step_loop(train_function)
    if loop is None:
        return None
    steps = _STEP_CACHES.get(train_function)
    if steps is None:
        steps = _STEP_CACHES[train_function] = _BatchTracedSteps(tf, loop)
    return steps


class _BatchTracedSteps(object):
    """Keras's step loop traced once per batch content, then called again.

    Keras 3.0-3.6 trace their step loop anew on every train_on_batch call, the batch
    baked into the graph as constants. That graph is a function of the batch alone:
    the step itself (Keras's inner tf.function, cached by shape and dtype) belongs to
    this train function, and every weight, optimizer slot, step count, metric and
    RNG seed is a captured variable, read and written when the graph runs, never a
    constant (set_weights, reset_metrics and the optimizer's updates between calls
    all reach a reused trace). So a call whose batch has the bytes, dtypes, shapes and
    structure of an earlier call's runs that call's trace: the same graph, constants
    included, that a fresh trace would build, bit for bit, without tracing it again
    (deep_saturation trains 250 steps on one full batch). A batch seen for the first
    time is traced as Keras traces it: the loop, with an iterator over that batch,
    inside a tf.function. Anything but plain numeric arrays, None and tuples, lists
    or dicts of them is traced for its call only.

    Bounded: at most MAX_ENTRIES traces per train function and MAX_BYTES of batch
    data over them (a larger batch keeps only its own trace), least recently used
    first out. An evicted batch seen again is traced again, to the same graph."""

    MAX_ENTRIES = 32
    MAX_BYTES = 16 << 20

    def __init__(self, tf, loop):
        self.tf = tf
        self.loop = loop
        self.traces = collections.OrderedDict()  # batch digest -> (tf.function, bytes)
        self.nbytes = 0
        self.traced = 0  # how many traces were built, for the tests and the curious

    def __call__(self, iterator):
        batch = next(iterator)
        key, nbytes = _batch_digest(batch)
        if key is None:
            self.traced += 1
            return self.tf.function(self.loop, reduce_retracing=True)(iter((batch,)))
        entry = self.traces.pop(key, None)
        if entry is None:
            entry = (self._trace(_frozen(batch)), nbytes)
            self.nbytes += nbytes
            self.traced += 1
        self.traces[key] = entry  # most recently used last
        while len(self.traces) > 1 and (len(self.traces) > self.MAX_ENTRIES or self.nbytes > self.MAX_BYTES):
            _, (_, dropped) = self.traces.popitem(last=False)
            self.nbytes -= dropped
        return entry[0]()

    def _trace(self, batch):
        loop = self.loop

        def one_step_on_iterator():
            # A fresh iterator per trace: TensorFlow traces a function twice when
            # its first trace creates variables (an optimizer built on first use).
            return loop(iter((batch,)))

        # Keras's loop is do_not_convert; so is this wrapper, to trace nothing else.
        return self.tf.function(one_step_on_iterator, autograph=False)


def _batch_digest(batch):
    """(sha256 of a batch's structure, dtypes, shapes and bytes, its bytes), or
    (None, 0) where the batch holds anything but numeric numpy arrays and None in
    tuples, lists and dicts."""
    h = hashlib.sha256()
    nbytes = [0]

    def walk(value):
        kind = type(value)
        if value is None:
            h.update(b"N;")
        elif kind is np.ndarray:
            if value.dtype.kind not in "biufc":
                return False
            h.update(("A%s%s;" % (value.dtype.str, value.shape)).encode())
            h.update(np.ascontiguousarray(value).tobytes())
            nbytes[0] += value.nbytes
        elif kind in (tuple, list):
            h.update(("%s%d;" % ("T" if kind is tuple else "L", len(value))).encode())
            return all(walk(item) for item in value)
        elif kind is dict:
            if not all(type(k) is str for k in value):
                return False
            h.update(("D%d;" % len(value)).encode())
            for k in sorted(value):
                h.update(("K%r;" % (k,)).encode())
                if not walk(value[k]):
                    return False
        else:
            return False
        return True

    if not walk(batch):
        return None, 0
    return h.hexdigest(), nbytes[0]


def _frozen(batch):
    """A private, read-only copy of a batch's arrays (in the same structure), so a
    caller writing into its arrays later cannot change what a trace holds."""
    if isinstance(batch, np.ndarray):
        copy = np.array(batch, copy=True)
        copy.setflags(write=False)
        return copy
    if isinstance(batch, (tuple, list)):
        return type(batch)(_frozen(item) for item in batch)
    if isinstance(batch, dict):
        return {k: _frozen(v) for k, v in batch.items()}
    return batch


def _applies_decay(optimizer, decay):
    """Whether a Keras 2 optimizer kept ``decay`` (optimizer_v2 as ``_initial_decay``,
    standalone Keras as ``initial_decay``); Keras 3 keeps neither."""
    kept = getattr(optimizer, "_initial_decay", getattr(optimizer, "initial_decay", None))
    return kept is not None and float(kept) == float(decay)


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
