"""The machine facts of a fingerprint, as a flat table both sides can be compared by.

MACHINE_FACTS and NUMERICS_FACTS name every fact of the "machine" and "numerics"
sections (harness.inenv.hardware, harness.inenv.numerics) with the words a difference
is said in, and CACHE_SOURCES the three readings of the cache sizes; ``read_side`` reads
one fingerprint into {dotted key: value}, where a value may be Unknown (a reading
that failed, and why) or Partial (a set recorded only within a known universe), and
a fact the fingerprint does not record is absent. harness.check.fingerprints compares
two sides.

Fingerprints written before harness/inenv/fingerprint.py had its "machine" and
"numerics" sections hold only a CPU model name, 14 chosen CPU flags, the CPU count,
the numeric variables and a platform string such as
"Linux-6.18.44-fc-v669-x86_64-with-glibc2.34"; the kernel release and the libc (or,
on Python 3.7, the distribution) are read from that string.
"""

from __future__ import annotations

import dataclasses

from harness.inenv.hardware import CPU_FLAGS


@dataclasses.dataclass(frozen=True)
class Unknown:
    """A reading that failed, and why."""

    why: str


@dataclasses.dataclass(frozen=True)
class Partial:
    """A set recorded only within ``universe`` (the first fingerprints' 14 CPU flags)."""

    values: frozenset[str]
    universe: frozenset[str]


@dataclasses.dataclass(frozen=True)
class Fact:
    """One row of the table: where the fact is, and the words a difference is said in."""

    key: str  # dotted path into the "machine"/"numerics" sections
    label: str  # names the fact in a change: "CPU family"
    topic: str  # names it in "does not record …"
    form: str = "plain"  # plain | set | flags (a set said in words: its tokens look like options) | bytes | switch
    numerics: bool = False  # a numerics setting rather than a machine fact


MACHINE_FACTS = (
    Fact("arch", "architecture", "the architecture"),
    Fact("cpu.vendor", "CPU vendor", "CPU vendor"),
    Fact("cpu.model_name", "CPU", "CPU model name"),
    Fact("cpu.family", "CPU family", "CPU family"),
    Fact("cpu.model", "CPU model number", "CPU model number"),
    Fact("cpu.stepping", "CPU stepping", "stepping"),
    Fact("cpu.microcode", "CPU microcode", "microcode"),
    Fact("cpu.flags", "CPU features", "the full CPU flag set", "set"),
    Fact("cpu.logical_cpus", "logical CPUs", "the CPU count"),
    Fact("kernel.release", "kernel", "the kernel release"),
    Fact("kernel.version", "kernel build", "the kernel build"),
    Fact("libc.running", "libc", "the running libc"),
    Fact("os", "OS", "the OS"),
)
CACHE_SOURCES = (("kernel", "as the kernel reports it"), ("glibc", "as glibc's cpuid reading reports it"),
                 ("eigen", "as Eigen reads cpuid"))
NUMERICS_FACTS = (
    Fact("xla.flags", "XLA_FLAGS", "XLA flags", "flags", True),
    Fact("xla.tf_flags", "TF_XLA_FLAGS", "TF_XLA_FLAGS", "flags", True),
    Fact("xla.tf_jit", "TensorFlow XLA JIT", "the TensorFlow XLA JIT setting", "plain", True),
    Fact("threads.cpus_usable", "CPUs usable by the worker", "the CPUs usable", "plain", True),
    Fact("threads.intra_op", "TensorFlow intra-op threads", "thread counts", "plain", True),
    Fact("threads.inter_op", "TensorFlow inter-op threads", "thread counts", "plain", True),
    Fact("onednn.enabled", "oneDNN", "whether oneDNN is on", "switch", True),
    Fact("framework.floatx", "floatx", "floatx", "plain", True),
    Fact("framework.op_determinism", "op determinism", "op determinism", "switch", True),
    Fact("framework.jax_enable_x64", "jax_enable_x64", "JAX settings", "plain", True),
    Fact("framework.jax_default_matmul_precision", "jax_default_matmul_precision", "JAX settings", "plain", True),
    Fact("numpy_simd.usable", "numpy SIMD dispatch", "numpy's SIMD dispatch", "set", True),
    Fact("numpy_simd.detected", "CPU features numpy detects", "numpy's SIMD dispatch", "set", True),
    Fact("numpy_simd.baseline", "numpy SIMD baseline", "numpy's SIMD dispatch", "set", True),
    Fact("numpy_simd.dispatch", "numpy SIMD targets built", "numpy's SIMD dispatch", "set", True),
    Fact("numpy_blas.core", "numpy's OpenBLAS kernel", "numpy's BLAS kernel", "plain", True),
    Fact("numpy_blas.threads", "OpenBLAS threads", "numpy's BLAS threads", "plain", True),
)
# The variables the first fingerprints recorded (determinism.NUMERIC_ENV as it was).
LEGACY_NUMERIC_ENV = (
    "TF_ENABLE_ONEDNN_OPTS", "TF_DETERMINISTIC_OPS", "TF_CUDNN_DETERMINISTIC", "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS", "TF_USE_LEGACY_KERAS", "TF_XLA_FLAGS", "XLA_FLAGS", "KERAS_BACKEND",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "PYTHONHASHSEED",
)


@dataclasses.dataclass(frozen=True)
class Side:
    """One fingerprint as facts: a value, Unknown, Partial, or absent (not recorded)."""

    facts: dict
    watched: tuple[str, ...] | None  # the variable names/prefixes it looked at; None: no variables
    python: str  # "3.8": platform strings are comparable only from the same interpreter


def as_unknown(value: object) -> Unknown | None:
    """The fingerprint's {"unknown": why} as an Unknown; None for any other value."""
    if isinstance(value, dict) and set(value) == {"unknown"}:
        return Unknown(str(value["unknown"]))
    return None


def _lookup(section: object, path: str) -> object:
    """The value at ``path``; Unknown where a reading on the way failed; KeyError if not recorded."""
    value = section
    for part in path.split("."):
        failed = as_unknown(value)
        if failed:
            return failed
        if not isinstance(value, dict) or part not in value:
            raise KeyError(path)
        value = value[part]
    return as_unknown(value) or value


def _recorded(section: dict, keys: list[str]) -> dict:
    """{key: value} of the ``keys`` that ``section`` records (Unknown where a reading on
    the way failed), in the order of ``keys``; a key it does not record is left out."""
    out = {}
    for key in keys:
        try:
            out[key] = _lookup(section, key)
        except KeyError:
            pass
    return out


def parse_platform(text: str, arch: str | None = None) -> dict:
    """Kernel release, architecture and the "with-…" tag (libc, or the distribution on
    Python 3.7) of a platform.platform() string."""
    head, _, tag = text.partition("-with-")
    system, _, rest = head.partition("-")
    out: dict = {"system": system}
    at = rest.rfind("-" + arch) if arch else -1
    if arch and at >= 0 and rest[at + len(arch) + 1:][:1] in ("", "-"):
        out["release"], out["arch"] = rest[:at], arch
        tag = tag or rest[at + len(arch) + 2:]  # macOS: "-arm-64bit" (processor, bits)
    elif "-" in rest:
        out["release"], out["arch"] = rest.rsplit("-", 1)
    elif rest:
        out["release"] = rest
    if tag:
        out["tag"] = tag
    return out


def read_side(fp: dict) -> Side:
    """One fingerprint (the JSON the worker sent) as facts: the machine and numerics
    sections by MACHINE_FACTS and NUMERICS_FACTS, the cache readings, the numeric
    variables as "env.<NAME>", and for the first fingerprints what their cpu, env and
    platform keys tell. A fact the fingerprint does not record is absent."""
    facts: dict = {}
    machine, numerics = fp.get("machine"), fp.get("numerics")
    legacy_cpu = fp.get("cpu") or {}
    parsed = parse_platform(str(fp.get("platform") or ""), legacy_cpu.get("machine"))
    if "tag" in parsed:
        facts["platform.tag"] = parsed["tag"]
    if isinstance(machine, dict):
        facts.update(_recorded(machine, [fact.key for fact in MACHINE_FACTS]))
        facts.update(_recorded(machine, ["caches." + source for source, _ in CACHE_SOURCES]))
    else:  # the first fingerprints
        if legacy_cpu.get("machine"):
            facts["arch"] = legacy_cpu["machine"]
        if legacy_cpu.get("model"):
            facts["cpu.model_name"] = legacy_cpu["model"]
        if isinstance(legacy_cpu.get("flags"), list):
            facts["cpu.flags"] = Partial(frozenset(legacy_cpu["flags"]), frozenset(CPU_FLAGS))
        if legacy_cpu.get("count"):
            facts["cpu.logical_cpus"] = legacy_cpu["count"]
        if parsed.get("release"):
            facts["kernel.release"] = parsed["release"]
    watched: tuple[str, ...] | None = None
    if isinstance(numerics, dict):
        facts.update(_recorded(numerics, [fact.key for fact in NUMERICS_FACTS]))
        env = numerics.get("env") or {}
        watched = tuple(numerics.get("env_watched") or sorted(env))
    elif isinstance(fp.get("env"), dict):
        env = fp["env"]
        watched = LEGACY_NUMERIC_ENV
        facts["xla.flags"] = sorted(env.get("XLA_FLAGS", "").split())
        facts["xla.tf_flags"] = sorted(env.get("TF_XLA_FLAGS", "").split())
    else:
        env = {}
    for name, value in env.items():
        facts["env." + name] = value
    python = ".".join(str(fp.get("python") or "").split(".")[:2])
    return Side(facts, watched, python)

