"""Determinism set-up, done before the framework is imported.

Thread counts are fixed to one so that reduction order, and with it the last bits
of every sum, does not depend on another environment running beside this one, nor,
for most frameworks, on the machine's core count. Not for all: oneDNN in TF 2.9-2.12
and XLA's CPU client in JAX still size their work by the CPUs the process may use
(measured by pinning a worker to one CPU), so the fingerprint records that count.
"""


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
