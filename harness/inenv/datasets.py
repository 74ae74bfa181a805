"""tf.data iterators without the autotuning thread, so that two workers side by side
do not stall each other.

Keras 2 on TF 2 (tf.keras 2.2-2.15, tf-keras) wraps every ``train_on_batch`` batch in
a fresh one-element ``tf.data`` dataset and iterator (``data_adapter.
single_batch_iterator``), and ``fit``/``predict`` make one per epoch or call. With
autotuning on, the default, each iterator starts a model thread that waits on a timed
condition variable; when the iterator is destroyed before that thread has reached its
wait (which is what happens when the CPU is busy), the wake-up is missed and the
destroying thread waits out the thread's 20 ms period. Measured here (strace: a
``FUTEX_WAIT`` with a 20 ms timeout ending in ETIMEDOUT on every call, the caller
blocked on the thread's exit), a 2000-step ``train_on_batch`` loop on tf2.15 takes
6.6 s alone, 14 s each with a second one beside it, and 45 s pinned to one core; with
autotuning off, 6.9, 7.3 and 6.7 s. The matrix runs two environments at once, so this
stall was most of what the second core did not give back (issue 17).

Autotuning only chooses parallelism and buffer sizes; a dataset's elements and their
order stay the same (``deterministic`` is not touched), so no observable changes: the
benchmark compares every observable with a run made before this, bit for bit.
Reference: ``tf.data.Options.autotune`` (TF >= 2.6) and
``tf.data.Options.experimental_optimization.autotune`` (TF 2.0-2.5) in the TensorFlow
API docs.
"""

_PLAIN = "_tfrepro_without_autotune"


def without_autotune(tf):
    """Make every ``tf.data`` iterator this process creates run without autotuning, by
    wrapping ``tf.data.Dataset.__iter__`` (eager iteration, which is what Keras 2 and 3
    use on TF 2). Returns what was done, for the run's record: "off" when installed,
    or why not ("graph mode", "no tf.data", "no autotune option"). Raises nothing."""
    data = getattr(tf, "data", None)
    dataset_class = getattr(data, "Dataset", None)
    if dataset_class is None or not hasattr(dataset_class, "with_options"):
        return "no tf.data"
    options = data.Options()
    if hasattr(options, "autotune") and hasattr(options.autotune, "enabled"):
        options.autotune.enabled = False
    elif hasattr(getattr(options, "experimental_optimization", None), "autotune"):
        options.experimental_optimization.autotune = False
    else:
        return "no autotune option"
    original = dataset_class.__iter__
    if getattr(original, _PLAIN, False):
        return "off"

    def __iter__(self):
        if getattr(self, _PLAIN, False):
            return original(self)
        # with_options gives a new dataset whose later options win; marked so that its
        # own iteration goes straight to TensorFlow's.
        plain = self.with_options(options)
        setattr(plain, _PLAIN, True)
        return original(plain)

    setattr(__iter__, _PLAIN, True)
    __iter__.__doc__ = original.__doc__
    dataset_class.__iter__ = __iter__
    return "off"
