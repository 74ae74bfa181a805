"""The "numerics" section of the fingerprint: the settings in effect that change numerics.

The variables that change numerics (and which ones were looked at), the thread
counts in effect, the XLA flags, whether oneDNN is on for this TensorFlow (asked of
TensorFlow itself where it can tell, else inferred and said so), the framework's own
switches (floatx, op determinism, JAX precision), numpy's SIMD dispatch and numpy's
BLAS kernel.

Python 3.7+. numpy and the framework are read only through the ``fw`` given to
``numerics`` (and imported inside the readings that need them), so the host may
import this module for ``watches``. Every reading that fails is ``{"unknown": why}``.
"""

import ctypes
import os
import platform
import re

from harness.inenv import determinism
from harness.inenv.hardware import cpu_facts
from harness.inenv.readings import is_unknown, reading, unknown

# Beyond determinism.NUMERIC_ENV: variables that change which kernels run, and
# whole families of them (a name ending in "*" is a prefix).
EXTRA_NUMERIC_ENV = (
    "TF_DISABLE_MKL", "TF_ENABLE_MKL_NATIVE_FORMAT", "TF_ENABLE_ZENDNN_OPTS", "TF_ENABLE_AUTO_MIXED_PRECISION",
    "GOTO_NUM_THREADS", "OPENBLAS_*", "ONEDNN_*", "DNNL_*", "MKL_*", "KMP_*", "OMP_*", "NPY_*", "JAX_*",
    # Eigen's own matrix-product kernel in TensorFlow before oneDNN (=0 sums in another order)
    "TENSORFLOW_USE_CUSTOM_CONTRACTION_KERNEL",
)

# TensorFlow >= 2.9 on Linux x86 turns oneDNN on by default when the CPU has one
# of these (tensorflow/core/util/util.cc, IsMKLEnabled / DefaultOneDnnPolicy).
ONEDNN_DEFAULT_FLAGS = ("avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8", "amx_bf16")


def watches(watched, name):
    """Whether a fingerprint that watched ``watched`` would have recorded ``name``."""
    return any(name == w or (w.endswith("*") and name.startswith(w[:-1])) for w in watched)


def numeric_env():
    """The numeric variables set in this process, and the names (and prefixes) looked at."""
    watched = sorted(set(determinism.NUMERIC_ENV) | set(EXTRA_NUMERIC_ENV))
    return {k: os.environ[k] for k in sorted(os.environ) if watches(watched, k)}, watched


def _loaded_library(fragment):
    with open("/proc/self/maps") as fh:
        for line in fh:
            path = line.split()[-1]
            if fragment in os.path.basename(path) and path.startswith("/"):
                return path
    return None


def _tf_version(fw):
    match = re.match(r"(\d+)\.(\d+)", fw.tf.__version__)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def onednn(fw):
    """Whether TensorFlow's oneDNN graph rewrites and kernels are on in this process."""
    if fw is None:
        return unknown("no framework was given to the fingerprint")
    if getattr(fw, "tf", None) is None:
        return {"enabled": "not applicable", "how": "no TensorFlow in this process (%s backend)" % fw.backend}
    asked = reading(_ask_tensorflow_onednn)
    if not is_unknown(asked):
        return asked
    return _infer_onednn(fw, asked["unknown"])


def _ask_tensorflow_onednn():
    path = _loaded_library("libtensorflow_framework")
    if path is None:
        raise OSError("libtensorflow_framework is not loaded")
    lib = ctypes.CDLL(path)
    # tensorflow::IsMKLEnabled() (core/util/util.cc, TF >= 2.5) is the switch the
    # graph passes read; tensorflow::IsMklEnabled() (platform/util_port.cc) says
    # whether oneDNN is built in, and before 2.5 nothing else exists. The Python
    # _pywrap_util_port.IsMklEnabled() answers False on 2.9 while oneDNN is on.
    for symbol, name in (("_ZN10tensorflow12IsMKLEnabledEv", "IsMKLEnabled() (the run-time switch)"),
                         ("_ZN10tensorflow12IsMklEnabledEv", "IsMklEnabled() (whether oneDNN is built in)")):
        try:
            function = getattr(lib, symbol)
        except AttributeError:
            continue
        function.restype = ctypes.c_bool
        function.argtypes = []
        return {"enabled": bool(function()),
                "how": "asked TensorFlow: tensorflow::%s in %s" % (name, os.path.basename(path))}
    raise OSError("neither tensorflow::IsMKLEnabled nor IsMklEnabled in " + os.path.basename(path))


def _infer_onednn(fw, why):
    version = _tf_version(fw)
    setting = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower()
    if version < (2, 5):
        return {"enabled": False, "how": "inferred (%s): TensorFlow %d.%d is built without oneDNN" % ((why,) + version)}
    if setting in ("1", "true", "0", "false"):
        return {"enabled": setting in ("1", "true"),
                "how": "inferred (%s): TF_ENABLE_ONEDNN_OPTS=%s" % (why, setting)}
    if version < (2, 9):
        return {"enabled": False, "how": "inferred (%s): off by default before TensorFlow 2.9" % why}
    flags = cpu_facts()["flags"]
    if is_unknown(flags) or platform.machine().lower() not in ("x86_64", "amd64"):
        return unknown("%s; and the CPU's flags are not known on %s" % (why, platform.machine()))
    has = sorted(set(flags) & set(ONEDNN_DEFAULT_FLAGS))
    return {"enabled": bool(has),
            "how": "inferred (%s): TensorFlow >= 2.9 on Linux x86 turns it on when the CPU has one of %s%s"
                   % (why, ", ".join(ONEDNN_DEFAULT_FLAGS), " (it has %s)" % ", ".join(has) if has else "")}


def numpy_simd():
    """numpy's SIMD: the targets built in (baseline, dispatch), what it detects on this
    CPU, and the dispatch targets it can pick here."""
    import numpy as np

    module = None
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            module = __import__(name, fromlist=["_"])
            break
        except ImportError:
            continue
    features = getattr(module, "__cpu_features__", None)
    if not isinstance(features, dict):
        return unknown("numpy %s exposes no SIMD dispatch information (no __cpu_features__); its "
                       "runtime choices follow the CPU flags under machine" % np.__version__)
    baseline = getattr(module, "__cpu_baseline__", None)
    dispatch = getattr(module, "__cpu_dispatch__", None)
    why = unknown("numpy %s has __cpu_features__ only" % np.__version__)
    return {
        "baseline": sorted(baseline) if isinstance(baseline, list) else why,
        "dispatch": sorted(dispatch) if isinstance(dispatch, list) else why,
        "detected": sorted(k for k, v in features.items() if v),
        "usable": sorted(t for t in dispatch if features.get(t)) if isinstance(dispatch, list) else why,
        "how": module.__name__ + ".__cpu_features__/__cpu_baseline__/__cpu_dispatch__",
    }


def numpy_blas():
    """The OpenBLAS numpy loaded: its build config, the core kernel it picked on this
    CPU, and its thread count."""
    import numpy  # noqa: F401  (loads the BLAS)

    path = _loaded_library("openblas")
    if path is None:
        return unknown("no OpenBLAS loaded with numpy (another BLAS)")
    lib = ctypes.CDLL(path)
    out = {"library": os.path.basename(path)}
    for prefix, suffix in (("", ""), ("", "64_"), ("scipy_", "64_"), ("scipy_", "")):
        try:
            corename = getattr(lib, prefix + "openblas_get_corename" + suffix)
        except AttributeError:
            continue
        config = getattr(lib, prefix + "openblas_get_config" + suffix)
        threads = getattr(lib, prefix + "openblas_get_num_threads" + suffix)
        corename.restype = config.restype = ctypes.c_char_p
        threads.restype = ctypes.c_int
        out["core"] = corename().decode("ascii", "replace").strip()
        out["config"] = config().decode("ascii", "replace").strip()
        out["threads"] = threads()
        return out
    return dict(out, core=unknown("no openblas_get_corename in " + os.path.basename(path)))


def threads(fw):
    """The CPUs this process may use and, with TensorFlow, the intra-op and inter-op thread
    counts in effect (0: TensorFlow picks), with how they were read.

    The CPU count is a numerics fact even with one thread: a worker pinned to one of this
    machine's two CPUs computed other bits in residual_block on TF 2.9-2.12 (oneDNN) and in
    jax-keras3.15 (XLA's CPU client), the same bits on TF 1.14, 2.13-2.21 and Keras 3 on TF."""
    out = {}
    if hasattr(os, "sched_getaffinity"):
        out["cpus_usable"] = len(os.sched_getaffinity(0))
    else:
        out["cpus_usable"] = unknown("no os.sched_getaffinity here")
    tf = getattr(fw, "tf", None)
    if tf is None:
        return out
    if getattr(fw, "graph_mode", False):
        # Graph mode: every session gets Framework.fresh's ConfigProto.
        out["intra_op"] = out["inter_op"] = determinism.THREADS
        out["how"] = "the ConfigProto of every session (graph mode)"
        return out
    threading = getattr(getattr(tf, "config", None), "threading", None)
    if threading is None:
        out["intra_op"] = out["inter_op"] = unknown("no tf.config.threading")
        return out
    out["intra_op"] = threading.get_intra_op_parallelism_threads()
    out["inter_op"] = threading.get_inter_op_parallelism_threads()
    out["how"] = "tf.config.threading (0: TensorFlow picks)"
    return out


def xla(fw):
    """XLA_FLAGS and TF_XLA_FLAGS as sorted token lists, and TensorFlow's JIT setting where it has one."""
    out = {
        "flags": sorted(os.environ.get("XLA_FLAGS", "").split()),
        "tf_flags": sorted(os.environ.get("TF_XLA_FLAGS", "").split()),
    }
    tf = getattr(fw, "tf", None)
    optimizer = getattr(getattr(tf, "config", None), "optimizer", None)
    if optimizer is not None and hasattr(optimizer, "get_jit"):
        out["tf_jit"] = str(optimizer.get_jit() or "off")
    return out


def framework_numerics(fw):
    """The framework's own switches: Keras floatx, op determinism (as set), and for JAX
    jax_enable_x64, the default matmul precision and the backend."""
    out = {}
    keras = getattr(fw, "keras", None)
    if keras is not None:
        out["floatx"] = reading(lambda: keras.backend.floatx())
    settings = getattr(fw, "settings", {}) or {}
    if "enable_op_determinism" in settings:
        out["op_determinism"] = settings["enable_op_determinism"]
    if getattr(fw, "backend", None) == "jax":
        import jax

        for name in ("jax_enable_x64", "jax_default_matmul_precision"):
            out[name] = reading(lambda n: str(getattr(jax.config, n)), name)
        out["jax_backend"] = reading(jax.default_backend)
    return out


def numerics(fw=None):
    """The "numerics" section: the effective settings that change numerics."""
    env, watched = numeric_env()
    out = {
        "env": env,
        "env_watched": watched,
        "threads": reading(threads, fw),
        "xla": reading(xla, fw),
        "onednn": reading(onednn, fw),
    }
    if fw is not None:
        out["framework"] = reading(framework_numerics, fw)
        out["numpy_simd"] = reading(numpy_simd)
        out["numpy_blas"] = reading(numpy_blas)
    return out
