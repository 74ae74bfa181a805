"""What exactly ran: packages, interpreter, and everything on the machine that can move bits.

The fingerprint a worker sends in its ``ready`` event (results store it under
"fingerprint"). The keys python, implementation, executable, platform, cpu,
packages and env are the original ones and keep their meaning; two sections hold
the rest:

- "machine": the CPU (vendor, family, model, stepping, microcode, the full flag
  set, logical CPUs), its cache sizes three ways (as the kernel reports them from
  cpuid leaf 0x8000001D/4 in sysfs; as glibc's sysconf reads them; as Eigen's
  ``queryCacheSizes`` reads cpuid itself, which is what TensorFlow's matrix
  products and XLA:CPU block by), the kernel, the running libc and the OS.
- "numerics": the variables that change numerics, the thread counts in effect,
  the XLA flags, whether oneDNN is on for this TensorFlow (asked of TensorFlow
  itself where it can tell), numpy's SIMD dispatch and numpy's BLAS kernel.

Every reading that fails is recorded as ``{"unknown": why}``; nothing here raises.
Python 3.7+, standard library only at import time: numpy and the framework are read
only through the ``fw`` given to ``collect``, so the host imports ``machine()`` too.
Installed packages are read from the *.dist-info / *.egg-info folders directly:
importlib.metadata is missing on Python 3.7 and pkg_resources is not always there.
"""

import ctypes
import mmap
import os
import platform
import re
import struct
import sys
import sysconfig

from harness.inenv import determinism

# The CPU flags the first fingerprints recorded (the legacy "cpu" key keeps them);
# "machine" records the full set.
CPU_FLAGS = (
    "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
    "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8",
)

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

# glibc's sysconf names for the cache sizes (bits/confname.h; the values are ABI).
SYSCONF_CACHES = (("L1d", 188), ("L1i", 185), ("L2", 191), ("L3", 194), ("L4", 197))


def unknown(why):
    return {"unknown": why}


def is_unknown(value):
    return isinstance(value, dict) and set(value) == {"unknown"}


def _reading(read, *args):
    """``read(*args)``, or unknown with the exception when it fails."""
    try:
        return read(*args)
    except Exception as exc:  # a fingerprint never stops a run
        return unknown("%s: %s" % (type(exc).__name__, str(exc)[:300]))


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_packages():
    found = {}
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    for folder in paths:
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            if entry.endswith(".dist-info") or entry.endswith(".egg-info"):
                stem = entry.rsplit(".", 1)[0]
                name, _, version = stem.partition("-")
                if name and version:
                    found[_canonical(name)] = version
    return dict(sorted(found.items()))


# -- the CPU ------------------------------------------------------------------
def _cpuinfo():
    """The first processor's fields of /proc/cpuinfo."""
    with open("/proc/cpuinfo") as fh:
        block = fh.read().split("\n\n")[0]
    fields = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def cpu():
    """The legacy "cpu" key: model name, the CPU_FLAGS present, count."""
    info = {"machine": platform.machine(), "processor": platform.processor()}
    try:
        fields = _cpuinfo()
    except OSError:
        return info
    if "model name" in fields:
        info["model"] = fields["model name"]
    if "flags" in fields:
        present = set(fields["flags"].split())
        info["flags"] = [f for f in CPU_FLAGS if f in present]
    info["count"] = os.cpu_count()
    return info


def cpu_facts():
    try:
        fields, unreadable = _cpuinfo(), None
    except OSError as exc:
        fields, unreadable = {}, "/proc/cpuinfo unreadable: %s" % exc

    def field(name, convert=str):
        if name not in fields:
            return unknown(unreadable or "no %r line in /proc/cpuinfo" % name)
        try:
            return convert(fields[name])
        except ValueError:
            return unknown("%s %r in /proc/cpuinfo is not a number" % (name, fields[name]))

    flags = field("flags")
    if not is_unknown(flags):
        flags = sorted(set(flags.split()))
    return {
        "vendor": field("vendor_id"),
        "family": field("cpu family", int),
        "model": field("model", int),
        "model_name": field("model name"),
        "stepping": field("stepping", int),
        "microcode": field("microcode"),
        "flags": flags,
        "logical_cpus": os.cpu_count() or unknown("os.cpu_count() returned None"),
    }


# -- cache sizes, three ways ----------------------------------------------------
def _size(text):
    match = re.match(r"^(\d+)\s*([KMG]?)", text.strip())
    if not match:
        raise ValueError("unreadable size %r" % text)
    return int(match.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[match.group(2)]


def kernel_caches(root="/sys/devices/system/cpu/cpu0/cache"):
    """{"L1d": bytes, ...} from sysfs (the kernel's reading of cpuid 4 / 0x8000001D)."""
    out = {}
    for entry in sorted(os.listdir(root)):
        if not entry.startswith("index"):
            continue
        folder = os.path.join(root, entry)
        with open(os.path.join(folder, "level")) as fh:
            level = fh.read().strip()
        with open(os.path.join(folder, "type")) as fh:
            kind = fh.read().strip()
        with open(os.path.join(folder, "size")) as fh:
            size = _size(fh.read())
        suffix = {"Data": "d", "Instruction": "i"}.get(kind, "") if level == "1" else ""
        out["L" + level + suffix] = size
    return out or unknown("no index* folders in " + root)


def glibc_caches():
    """{"L1d": bytes, ...} from glibc's sysconf (its own cpuid reading)."""
    if not hasattr(os, "confstr") or "glibc" not in (_confstr("CS_GNU_LIBC_VERSION") or ""):
        return unknown("not glibc: no _SC_LEVEL*_CACHE_SIZE")
    libc = ctypes.CDLL(None)
    libc.sysconf.restype = ctypes.c_long
    libc.sysconf.argtypes = [ctypes.c_int]
    out = {}
    for name, number in SYSCONF_CACHES:
        value = libc.sysconf(number)
        if value > 0:
            out[name] = value
        elif name != "L4":
            out[name] = unknown("sysconf(_SC_%s_SIZE) returned %d" % (name, value))
    return out


# x86-64 System V: void cpuid(uint32 leaf, uint32 subleaf, uint32 out[4]).
_CPUID_CODE = bytes(bytearray([
    0x53,                    # push rbx
    0x49, 0x89, 0xD0,        # mov r8, rdx
    0x89, 0xF8,              # mov eax, edi
    0x89, 0xF1,              # mov ecx, esi
    0x0F, 0xA2,              # cpuid
    0x41, 0x89, 0x00,        # mov [r8], eax
    0x41, 0x89, 0x58, 0x04,  # mov [r8+4], ebx
    0x41, 0x89, 0x48, 0x08,  # mov [r8+8], ecx
    0x41, 0x89, 0x50, 0x0C,  # mov [r8+12], edx
    0x5B,                    # pop rbx
    0xC3,                    # ret
]))


def _cpuid_reader():
    """A function (leaf, subleaf) -> (eax, ebx, ecx, edx) that runs the cpuid instruction."""
    if platform.machine().lower() not in ("x86_64", "amd64") or struct.calcsize("P") != 8:
        raise OSError("cpuid needs x86-64, this is %s" % platform.machine())
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(_CPUID_CODE)
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    Registers = ctypes.c_uint32 * 4
    function = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(Registers))(address)

    def cpuid(leaf, subleaf=0):
        out = Registers()
        function(leaf, subleaf, ctypes.byref(out))
        return tuple(out)

    cpuid.page = page  # the code lives as long as the function
    return cpuid


def eigen_caches(cpuid=None):
    """L1/L2/L3 as Eigen's queryCacheSizes reads them (Eigen/src/Core/util/Memory.h):
    AMD from leaves 0x80000005/0x80000006 (L3 in 512 KiB units, bits 18-27 only),
    Intel and the rest from leaf 4. Eigen treats L1 as the data cache; 0 means it
    falls back to its defaults."""
    cpuid = cpuid or _cpuid_reader()
    _, b, c, d = cpuid(0)
    vendor = struct.pack("<III", b, d, c).decode("ascii", "replace")
    if vendor in ("AuthenticAMD", "AMDisbetter!"):
        if cpuid(0x80000000)[0] < 0x80000006:
            return {"L1d": 0, "L2": 0, "L3": 0, "how": "AMD without leaf 0x80000006: Eigen reads 0"}
        l1 = (cpuid(0x80000005)[2] >> 24) * 1024
        _, _, c, d = cpuid(0x80000006)
        return {"L1d": l1, "L2": (c >> 16) * 1024, "L3": ((d & 0xFFFC000) >> 18) * 512 * 1024,
                "how": "cpuid 0x80000005/0x80000006 (Eigen's AMD path)"}
    sizes = {1: 0, 2: 0, 3: 0}
    for index in range(16):
        a, b, c, _ = cpuid(4, index)
        kind = a & 0x0F
        if kind == 0:
            break
        if kind in (1, 3):  # data or unified
            level = (a & 0xE0) >> 5
            ways, partitions, line = (b >> 22) & 0x3FF, (b >> 12) & 0x3FF, b & 0xFFF
            if level in sizes:
                sizes[level] = (ways + 1) * (partitions + 1) * (line + 1) * (c + 1)
    return {"L1d": sizes[1], "L2": sizes[2], "L3": sizes[3],
            "how": "cpuid 4 (Eigen's Intel path, %s)" % vendor.strip("\x00")}


# -- kernel, libc, OS -------------------------------------------------------------
def _confstr(name):
    try:
        return os.confstr(name)
    except (ValueError, OSError, AttributeError):
        return None


def kernel():
    return {"release": platform.release() or unknown("platform.release() is empty"),
            "version": platform.version() or unknown("platform.version() is empty")}


def libc():
    running = _confstr("CS_GNU_LIBC_VERSION")
    linked = platform.libc_ver(sys.executable)
    return {
        # The libc this process runs on.
        "running": running or unknown("os.confstr('CS_GNU_LIBC_VERSION') says nothing (not glibc?)"),
        # What platform.libc_ver() finds in the interpreter binary (the newest
        # symbol version it needs): the "with-glibcX.Y" of platform.platform().
        "interpreter": " ".join(linked) if linked[0] else unknown("platform.libc_ver() found none"),
    }


def os_release(path="/etc/os-release"):
    with open(path) as fh:
        fields = dict(re.findall(r'^(\w+)="?(.*?)"?$', fh.read(), re.M))
    return fields.get("PRETTY_NAME") or unknown("no PRETTY_NAME in " + path)


def machine():
    """The "machine" section: the CPU, its caches, kernel, libc and OS."""
    return {
        "arch": platform.machine() or unknown("platform.machine() is empty"),
        "cpu": _reading(cpu_facts),
        "caches": {
            "kernel": _reading(kernel_caches),
            "glibc": _reading(glibc_caches),
            "eigen": _reading(eigen_caches),
        },
        "kernel": _reading(kernel),
        "libc": _reading(libc),
        "os": _reading(os_release),
    }


# -- numerics settings ----------------------------------------------------------------
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
    asked = _reading(_ask_tensorflow_onednn)
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
    out = {}
    keras = getattr(fw, "keras", None)
    if keras is not None:
        out["floatx"] = _reading(lambda: keras.backend.floatx())
    settings = getattr(fw, "settings", {}) or {}
    if "enable_op_determinism" in settings:
        out["op_determinism"] = settings["enable_op_determinism"]
    if getattr(fw, "backend", None) == "jax":
        import jax

        for name in ("jax_enable_x64", "jax_default_matmul_precision"):
            out[name] = _reading(lambda n: str(getattr(jax.config, n)), name)
        out["jax_backend"] = _reading(jax.default_backend)
    return out


def numerics(fw=None):
    """The "numerics" section: the effective settings that change numerics."""
    env, watched = numeric_env()
    out = {
        "env": env,
        "env_watched": watched,
        "threads": _reading(threads, fw),
        "xla": _reading(xla, fw),
        "onednn": _reading(onednn, fw),
    }
    if fw is not None:
        out["framework"] = _reading(framework_numerics, fw)
        out["numpy_simd"] = _reading(numpy_simd)
        out["numpy_blas"] = _reading(numpy_blas)
    return out


def collect(fw=None):
    """The whole fingerprint; ``fw`` (the worker's Framework) adds what only the
    loaded framework and numpy can tell."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpu": cpu(),
        "packages": installed_packages(),
        "env": {k: os.environ[k] for k in determinism.NUMERIC_ENV if k in os.environ},
        "machine": machine(),
        "numerics": numerics(fw),
    }
