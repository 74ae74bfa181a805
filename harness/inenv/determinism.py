"""Determinism set-up, done before the framework is imported.

Thread counts are fixed to one so that reduction order, and with it the last bits
of every sum, does not depend on the machine's core count or on another
environment running beside this one.
"""

import os

THREADS = 1

# Read by TensorFlow, oneDNN, OpenMP and XLA when they start, so they must be in
# the environment before the import.
PROCESS_ENV = {
    "PYTHONHASHSEED": "0",
    "CUDA_VISIBLE_DEVICES": "",
    "TF_DETERMINISTIC_OPS": "1",
    "TF_CUDNN_DETERMINISTIC": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "TF_NUM_INTRAOP_THREADS": str(THREADS),
    "TF_NUM_INTEROP_THREADS": str(THREADS),
    "OMP_NUM_THREADS": str(THREADS),
    "MKL_NUM_THREADS": str(THREADS),
    "OPENBLAS_NUM_THREADS": str(THREADS),
    # XLA reads flags only: a word after them that is no flag makes it ignore the rest.
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false",
}

# Variables that change numerics; recorded in every fingerprint.
NUMERIC_ENV = (
    "TF_ENABLE_ONEDNN_OPTS",
    "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_DETERMINISTIC",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "TF_USE_LEGACY_KERAS",
    "TF_XLA_FLAGS",
    "XLA_FLAGS",
    "KERAS_BACKEND",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "CUDA_VISIBLE_DEVICES",
    "PYTHONHASHSEED",
)


def process_env(env_vars=None, inherited=None):
    """The variables a worker starts with: ``inherited`` (the caller's environment)
    with these defaults where it sets none, then the environment's own ``env_vars``
    (KERAS_BACKEND …). A variable the user set on purpose wins and is recorded in the
    fingerprint; XLA_FLAGS are joined, the harness's first, so the user's add to them."""
    inherited = dict(inherited or {})
    env = dict(inherited)
    for key, value in PROCESS_ENV.items():
        env.setdefault(key, value)
    if inherited.get("XLA_FLAGS") and inherited["XLA_FLAGS"] != PROCESS_ENV["XLA_FLAGS"]:
        env["XLA_FLAGS"] = PROCESS_ENV["XLA_FLAGS"] + " " + inherited["XLA_FLAGS"]
    env.update(env_vars or {})
    return env


def configure_tensorflow(tf):
    """Framework-level settings that only exist after import; returns what was set."""
    done = {}
    threading = getattr(getattr(tf, "config", None), "threading", None)
    if threading is not None and hasattr(threading, "set_intra_op_parallelism_threads"):
        try:
            threading.set_intra_op_parallelism_threads(THREADS)
            threading.set_inter_op_parallelism_threads(THREADS)
            done["threads"] = THREADS
        except RuntimeError as exc:  # context already initialised
            done["threads"] = "not set: %s" % exc
    experimental = getattr(getattr(tf, "config", None), "experimental", None)
    if experimental is not None and hasattr(experimental, "enable_op_determinism"):
        experimental.enable_op_determinism()
        done["enable_op_determinism"] = True
    else:
        done["enable_op_determinism"] = False
    return done


# The CPUs this process was offered before pin_cpu narrowed them to one (None: not pinned).
_OFFERED_CPUS = None


def pin_cpu(cpu):
    """Run this process, and every thread it starts later, on CPU ``cpu`` only (the host's
    harness.run.placement chose it and holds it for this worker; it says why only
    TensorFlow workers are pinned). Called before the framework is imported, so no
    thread of it starts elsewhere. Returns what was done, for the "ready" event."""
    global _OFFERED_CPUS
    if cpu is None:
        return None
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned: no os.sched_setaffinity here"
    offered = sorted(os.sched_getaffinity(0))
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as exc:  # the CPU went offline, or a cgroup forbids it
        return "not pinned to CPU %d: %s" % (cpu, exc)
    _OFFERED_CPUS = offered
    return cpu


def pinned():
    """Whether pin_cpu narrowed this process to one CPU."""
    return _OFFERED_CPUS is not None


def offered_cpus():
    """The CPUs the harness gave this worker: those it may use, or, once pin_cpu ran,
    those it could use before (pinning chooses where a single-threaded worker runs, not
    how many threads it uses; the fingerprint's "CPUs usable" fact is this count)."""
    if _OFFERED_CPUS is not None:
        return list(_OFFERED_CPUS)
    return sorted(os.sched_getaffinity(0))
