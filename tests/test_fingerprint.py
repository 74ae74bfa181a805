"""The machine fingerprint and the comparison that names every difference.

Table-driven diffs on hand-made fingerprints (no TensorFlow), the first
fingerprints' format as committed in golden/, and one real collection in a real
environment (marked ``envs``).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import pytest

from harness.check import fingerprints, machine_facts
from harness.check.fingerprints import Kind
from harness.inenv import hardware, protocol, readings
from harness.inenv.numerics import numeric_env
from harness.matrix import machine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MiB = 1 << 20


def new_fp() -> dict:
    """A fingerprint as the worker writes it now (this machine's, trimmed)."""
    return {
        "python": "3.11.7", "implementation": "CPython", "executable": "/x/.nox/matrix-a/bin/python",
        "platform": "Linux-6.18.44-fc-v657-x86_64-with-glibc2.36",
        "cpu": {"machine": "x86_64", "processor": "", "model": "AMD EPYC",
                "flags": ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni"], "count": 2},
        "packages": {"numpy": "1.26.2", "tensorflow-cpu": "2.15.0"},
        "env": {"TF_DETERMINISTIC_OPS": "1", "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"},
        "machine": {
            "arch": "x86_64",
            "cpu": {"vendor": "AuthenticAMD", "family": 26, "model": 2, "model_name": "AMD EPYC", "stepping": 1,
                    "microcode": "0x1000065",
                    "flags": sorted(["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "sha_ni"]),
                    "logical_cpus": 2},
            "caches": {
                "kernel": {"L1d": 48 << 10, "L1i": 32 << 10, "L2": MiB, "L3": 32 * MiB},
                "glibc": {"L1d": 48 << 10, "L1i": 32 << 10, "L2": MiB, "L3": 384 * MiB},
                "eigen": {"L1d": 48 << 10, "L2": MiB, "L3": 384 * MiB, "how": "cpuid 0x80000005/0x80000006"},
            },
            "kernel": {"release": "6.18.44-fc-v657", "version": "#1 SMP PREEMPT_DYNAMIC @0"},
            "libc": {"running": "glibc 2.36", "interpreter": "glibc 2.36"},
            "os": "Debian GNU/Linux 12 (bookworm)",
        },
        "numerics": {
            "env": {"TF_DETERMINISTIC_OPS": "1", "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"},
            "env_watched": sorted(numeric_env()[1]),
            "threads": {"cpus_usable": 2, "intra_op": 1, "inter_op": 1, "how": "tf.config.threading"},
            "xla": {"flags": ["--xla_cpu_multi_thread_eigen=false"], "tf_flags": [], "tf_jit": "off"},
            "onednn": {"enabled": True, "how": "asked TensorFlow"},
            "framework": {"floatx": "float32", "op_determinism": True},
            "numpy_simd": {"baseline": ["SSE", "SSE2", "SSE3"], "dispatch": ["AVX2", "AVX512F", "AVX512_SKX"],
                           "detected": ["AVX2", "AVX512F", "AVX512_SKX"], "usable": ["AVX2", "AVX512F", "AVX512_SKX"],
                           "how": "numpy.core._multiarray_umath"},
            "numpy_blas": {"library": "libopenblas.so", "core": "Haswell", "config": "OpenBLAS 0.3.23", "threads": 1},
        },
    }


def old_fp() -> dict:
    """A fingerprint as golden/*.json hold it from before the machine section."""
    return {
        "python": "3.11.7", "implementation": "CPython", "executable": "/work/main/.nox/matrix-a/bin/python",
        "platform": "Linux-6.18.44-fc-v669-x86_64-with-glibc2.36",
        "cpu": {"machine": "x86_64", "processor": "", "model": "AMD EPYC",
                "flags": ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni"], "count": 2},
        "packages": {"numpy": "1.26.2", "tensorflow-cpu": "2.15.0"},
        "env": {"TF_DETERMINISTIC_OPS": "1", "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"},
    }


def edited(fp: dict, path: str, value) -> dict:
    out = copy.deepcopy(fp)
    *parents, last = path.split(".")
    node = out
    for part in parents:
        node = node[part]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return out


def texts(before: dict, after: dict, **kwargs) -> list[str]:
    return [str(c) for c in fingerprints.machine_changes(before, after, **kwargs)]


CHANGES = [
    ("an L2 that every source reads larger", [("machine.caches.kernel.L2", 2 * MiB),
                                              ("machine.caches.glibc.L2", 2 * MiB),
                                              ("machine.caches.eigen.L2", 2 * MiB)],
     ["L2 cache 1 MiB → 2 MiB"]),
    ("an L3 only the kernel reads smaller", [("machine.caches.kernel.L3", 16 * MiB)],
     ["L3 cache as the kernel reports it 32 MiB → 16 MiB"]),
    ("an L3 only cpuid (glibc and Eigen) reads smaller", [("machine.caches.glibc.L3", 256 * MiB),
                                                          ("machine.caches.eigen.L3", 256 * MiB)],
     ["L3 cache as glibc's cpuid reading reports it 384 MiB → 256 MiB",
      "L3 cache as Eigen reads cpuid 384 MiB → 256 MiB"]),
    ("another kernel", [("machine.kernel.release", "6.18.44-fc-v669")], ["kernel 6.18.44-fc-v657 → 6.18.44-fc-v669"]),
    ("another kernel build", [("machine.kernel.version", "#2 SMP")], ["kernel build #1 SMP PREEMPT_DYNAMIC @0 → #2 SMP"]),
    ("another libc", [("machine.libc.running", "glibc 2.39")], ["libc glibc 2.36 → glibc 2.39"]),
    ("CPU flags gained and lost",
     [("machine.cpu.flags", sorted(["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_vp2intersect"]))],
     ["CPU features +avx512_vp2intersect -sha_ni"]),
    ("another stepping and microcode", [("machine.cpu.stepping", 2), ("machine.cpu.microcode", "0x1000070")],
     ["CPU stepping 1 → 2", "CPU microcode 0x1000065 → 0x1000070"]),
    ("another CPU", [("machine.cpu.model_name", "Intel Xeon"), ("machine.cpu.vendor", "GenuineIntel"),
                     ("machine.cpu.family", 6)],
     ["CPU vendor AuthenticAMD → GenuineIntel", "CPU AMD EPYC → Intel Xeon",
      "CPU family 26 → 6"]),
    ("oneDNN turned off", [("numerics.onednn.enabled", False), ("numerics.env.TF_ENABLE_ONEDNN_OPTS", "0")],
     ["TF_ENABLE_ONEDNN_OPTS unset → 0", "oneDNN on → off"]),
    ("oneDNN capped to AVX2", [("numerics.env.ONEDNN_MAX_CPU_ISA", "AVX2")], ["ONEDNN_MAX_CPU_ISA unset → AVX2"]),
    ("another XLA flag", [("numerics.xla.flags", ["--xla_cpu_multi_thread_eigen=false", "--xla_cpu_use_thunk_runtime=false"])],
     ["XLA_FLAGS gained --xla_cpu_use_thunk_runtime=false"]),
    ("more threads", [("numerics.threads.intra_op", 2)], ["TensorFlow intra-op threads 1 → 2"]),
    ("numpy without AVX-512", [("numerics.numpy_simd.usable", ["AVX2"]), ("numerics.numpy_simd.detected", ["AVX2"])],
     ["numpy SIMD dispatch -AVX512F -AVX512_SKX", "CPU features numpy detects -AVX512F -AVX512_SKX"]),
    ("another OpenBLAS kernel", [("numerics.numpy_blas.core", "SkylakeX")], ["numpy's OpenBLAS kernel Haswell → SkylakeX"]),
]


@pytest.mark.parametrize("edits,expected", [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_each_difference_is_named_in_words(edits, expected):
    before, after = new_fp(), new_fp()
    for path, value in edits:
        after = edited(after, path, value)
    assert texts(before, after) == expected
    assert fingerprints.same_machine(before, after) == (False, expected)
    assert all(c.kind == Kind.CHANGED for c in fingerprints.machine_changes(before, after))


def test_identical_fingerprints_are_the_same_machine():
    assert fingerprints.machine_changes(new_fp(), new_fp()) == []
    assert fingerprints.same_machine(new_fp(), new_fp()) == (True, [])


@pytest.mark.parametrize("path,value", [
    ("executable", "/elsewhere/bin/python"),
    ("python", "3.11.9"),
    ("packages", {"numpy": "2.0.0"}),
    ("implementation", "PyPy"),
    ("machine.libc.interpreter", "glibc 2.17"),  # the interpreter binary's needs, not the machine
    ("machine.caches.eigen.how", "cpuid 4"),
    ("numerics.onednn.how", "inferred"),
])
def test_what_is_not_a_machine_fact_is_ignored(path, value):
    assert fingerprints.same_machine(new_fp(), edited(new_fp(), path, value)) == (True, [])


def test_a_reading_that_failed_is_named_and_leaves_the_verdict_open():
    after = edited(new_fp(), "machine.cpu.microcode", {"unknown": "no 'microcode' line in /proc/cpuinfo"})
    changes = fingerprints.machine_changes(new_fp(), after)
    assert [(c.kind, str(c)) for c in changes] == [
        (Kind.UNKNOWN, "CPU microcode 0x1000065 → unknown (no 'microcode' line in /proc/cpuinfo)")]
    assert fingerprints.same_machine(new_fp(), after) == (
        None, ["CPU microcode 0x1000065 → unknown (no 'microcode' line in /proc/cpuinfo)"])
    # The same reading failing the same way on both sides cannot tell them apart.
    assert fingerprints.same_machine(after, after) == (True, [])


def test_a_section_unknown_on_one_side_is_one_change():
    why = "numpy 1.16.4 exposes no SIMD dispatch information"
    before = edited(new_fp(), "numerics.numpy_simd", {"unknown": why})
    assert texts(before, new_fp()) == [f"numpy's SIMD dispatch unknown ({why}) → known"]


def test_a_reading_that_failed_for_a_whole_section_is_one_change():
    before = edited(new_fp(), "machine.cpu", {"unknown": "/proc/cpuinfo unreadable"})
    assert texts(before, new_fp()) == [
        ("CPU vendor, CPU model name, CPU family, CPU model number, stepping, microcode, the full CPU flag set and "
         "the CPU count unknown (/proc/cpuinfo unreadable) → known")]


def test_a_difference_beside_an_unknown_decides():
    after = edited(new_fp(), "machine.cpu.microcode", {"unknown": "hidden"})
    after = edited(after, "machine.kernel.release", "6.1.0")
    verdict, reasons = fingerprints.same_machine(new_fp(), after)
    assert verdict is False
    assert reasons == ["kernel 6.18.44-fc-v657 → 6.1.0", "CPU microcode 0x1000065 → unknown (hidden)"]


def test_a_blessing_fingerprint_of_the_first_format_names_what_it_lacks():
    changes = fingerprints.machine_changes(old_fp(), new_fp())
    assert str(changes[0]) == "kernel 6.18.44-fc-v669 → 6.18.44-fc-v657"  # read from the platform string
    assert changes[0].kind == Kind.CHANGED
    lacking = changes[-1]
    assert lacking.kind == Kind.UNRECORDED
    assert lacking.text.startswith("the blessing fingerprint does not record CPU vendor, CPU family, CPU model number, "
                                   "stepping, microcode, the full CPU flag set (only 14 chosen flags), cache sizes, "
                                   "the kernel build, the running libc, the OS")
    for topic in ("whether oneDNN is on", "numpy's SIMD dispatch", "thread counts", "numpy's BLAS kernel"):
        assert topic in lacking.text
    assert len(changes) == 2  # model, the 14 flags, count, libc tag and XLA flags agree
    assert fingerprints.same_machine(old_fp(), new_fp())[0] is False


def test_a_first_format_fingerprint_of_this_machine_leaves_the_verdict_open():
    before = edited(old_fp(), "platform", "Linux-6.18.44-fc-v657-x86_64-with-glibc2.36")
    verdict, reasons = fingerprints.same_machine(before, new_fp())
    assert verdict is None
    assert len(reasons) == 1 and reasons[0].startswith("the blessing fingerprint does not record CPU vendor")


@pytest.mark.parametrize("path,value,expected", [
    ("cpu.flags", ["sse4_2", "avx", "avx2", "fma", "avx512_vnni"], "CPU features +avx512f"),  # within the 14
    ("cpu.model", "Intel Xeon", "CPU Intel Xeon → AMD EPYC"),
    ("cpu.count", 4, "logical CPUs 4 → 2"),
    ("platform", "Linux-6.18.44-fc-v657-x86_64-with-glibc2.34", "libc (platform string) glibc2.34 → glibc2.36"),
    ("env", {"TF_DETERMINISTIC_OPS": "1"}, "XLA_FLAGS gained --xla_cpu_multi_thread_eigen=false"),
    ("env", {"TF_DETERMINISTIC_OPS": "1", "TF_ENABLE_ONEDNN_OPTS": "0",
             "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}, "TF_ENABLE_ONEDNN_OPTS 0 → unset"),
])
def test_the_first_format_is_compared_for_what_it_holds(path, value, expected):
    before = edited(edited(old_fp(), "platform", "Linux-6.18.44-fc-v657-x86_64-with-glibc2.36"), path, value)
    changes = fingerprints.machine_changes(before, new_fp())
    assert [str(c) for c in changes if c.kind != Kind.UNRECORDED] == [expected]


def test_the_platform_tag_counts_only_from_the_same_python():
    # Python 3.7 writes the distribution where 3.8+ write the libc: not a machine difference.
    before = edited(old_fp(), "platform", "Linux-6.18.44-fc-v657-x86_64-with-debian-12.11")
    before = edited(before, "python", "3.7.16")
    assert [c.kind for c in fingerprints.machine_changes(before, new_fp())] == [Kind.UNRECORDED]


def test_two_first_format_fingerprints_compare_as_before():
    """What platform_changes said before, kept: the CPU model and features."""
    after = edited(edited(old_fp(), "cpu.model", "Intel Xeon"), "cpu.flags", ["sse4_2", "avx", "avx2", "fma"])
    assert fingerprints.platform_changes(old_fp(), after) == [
        "CPU AMD EPYC → Intel Xeon", "CPU features -avx512_vnni -avx512f"]
    assert fingerprints.platform_changes(None, after) == []


def test_a_missing_fingerprint_is_said():
    assert fingerprints.same_machine(None, new_fp()) == (
        None, ["there is no blessing fingerprint: nothing can be compared"])


def test_variables_one_side_does_not_watch_are_named():
    after = edited(new_fp(), "numerics.env.OPENBLAS_CORETYPE", "Haswell")
    text = texts(old_fp(), after)[-1]
    assert "the variables OPENBLAS_CORETYPE (set in this run's fingerprint)" in text
    assert "ONEDNN_*" in text


@pytest.mark.parametrize("text,arch,expected", [
    ("Linux-6.18.44-fc-v669-x86_64-with-glibc2.34", "x86_64",
     {"system": "Linux", "release": "6.18.44-fc-v669", "arch": "x86_64", "tag": "glibc2.34"}),
    ("Linux-6.18.44-fc-v669-x86_64-with-debian-12.11", None,
     {"system": "Linux", "release": "6.18.44-fc-v669", "arch": "x86_64", "tag": "debian-12.11"}),
    ("Linux-5.15.0-1019-aws-aarch64-with-glibc2.35", "aarch64",
     {"system": "Linux", "release": "5.15.0-1019-aws", "arch": "aarch64", "tag": "glibc2.35"}),
    ("macOS-14.5-arm64-arm-64bit", "arm64", {"system": "macOS", "release": "14.5", "arch": "arm64", "tag": "arm-64bit"}),
])
def test_platform_strings(text, arch, expected):
    assert machine_facts.parse_platform(text, arch) == expected


def test_byte_sizes_read_as_people_write_them():
    assert [fingerprints._bytes(n) for n in (48 << 10, MiB, 384 * MiB, 1536 << 10, 1000, 0)] == [
        "48 KiB", "1 MiB", "384 MiB", "1536 KiB", "1000 B", "0 B"]


# -- the collection itself, on this machine -----------------------------------------------------


def test_the_machine_section_reads_this_host_and_never_raises():
    section = hardware.machine()
    json.dumps(section)
    if sys.platform.startswith("linux"):
        assert not readings.is_unknown(section["cpu"])
        assert section["cpu"]["flags"] == sorted(section["cpu"]["flags"])
        assert section["kernel"]["release"]
        assert set(section["caches"]["kernel"]) >= {"L1d", "L2"}
    if sys.platform.startswith("linux") and section["arch"] == "x86_64":
        eigen = section["caches"]["eigen"]
        assert eigen["L1d"] > 0 and eigen["L2"] > 0, eigen


def test_readings_that_fail_are_unknown_with_why(tmp_path, monkeypatch):
    assert hardware.kernel_caches(str(tmp_path)) == {"unknown": f"no index* folders in {tmp_path}"}
    assert readings.reading(hardware.kernel_caches, str(tmp_path / "absent"))["unknown"].startswith(
        "FileNotFoundError")
    monkeypatch.setattr(hardware.platform, "machine", lambda: "aarch64")
    assert readings.reading(hardware.eigen_caches) == {
        "unknown": "OSError: cpuid needs x86-64, this is aarch64"}


def test_eigen_reads_amd_and_intel_cpuid_as_eigen_does():
    def amd(leaf, sub=0):
        return {0: (0x10, 0x68747541, 0x444D4163, 0x69746E65), 0x80000000: (0x80000021, 0, 0, 0),
                0x80000005: (0, 0, 48 << 24, 0), 0x80000006: (0, 0, 1024 << 16, 768 << 18)}[leaf]

    assert hardware.eigen_caches(amd) == {"L1d": 48 << 10, "L2": MiB, "L3": 384 * MiB,
                                             "how": "cpuid 0x80000005/0x80000006 (Eigen's AMD path)"}

    def intel(leaf, sub=0):
        if leaf == 0:
            return (0x20, 0x756E6547, 0x6C65746E, 0x49656E69)
        table = {0: (0x21, (11 << 22) | 63, 63, 0), 1: (0x22, (7 << 22) | 63, 63, 0),
                 2: (0x43, (15 << 22) | 63, 2047, 0), 3: (0x63, (11 << 22) | 63, 49151, 0)}
        return table.get(sub, (0, 0, 0, 0))

    assert hardware.eigen_caches(intel) == {"L1d": 48 << 10, "L2": 2 * MiB, "L3": 36 * MiB,
                                               "how": "cpuid 4 (Eigen's Intel path, GenuineIntel)"}


def test_the_host_compares_its_machine_with_a_golden_fingerprint():
    here = machine.host_fingerprint()
    assert machine.blessed_here(here) == (True, [])
    moved = edited(here, "machine.kernel.release", "0.0.1")
    verdict, reasons = machine.blessed_here(moved)
    assert verdict is False and reasons[0].startswith("kernel 0.0.1 → ")


@pytest.mark.envs
def test_the_worker_fingerprint_in_a_real_environment(tmp_path):
    """The worker's ready event in tf2.15-keras2; the same run again is the same machine;
    TF_ENABLE_ONEDNN_OPTS=0 is named as the difference it makes."""
    from tests.realenv import env_python

    python = env_python("tf2.15-keras2")
    (tmp_path / "cases").mkdir()
    job = tmp_path / "job.json"  # no task: the worker reports ready, then done
    job.write_text(json.dumps({"protocol": protocol.PROTOCOL, "flavour": "tf.keras", "backend": "tensorflow",
                               "case_dirs": [str(tmp_path / "cases")], "tasks": []}))

    def ready(**env) -> dict:
        read, write = os.pipe()
        proc = subprocess.Popen(
            [python, "-m", "harness.inenv.worker", "--job", str(job), "--fd", str(write)],
            cwd=ROOT, pass_fds=(write,), env={**os.environ, "PYTHONPATH": ROOT, **env},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        os.close(write)
        with os.fdopen(read) as fh:
            events = [json.loads(line) for line in fh]
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err.decode()[-3000:]
        return next(e for e in events if e["event"] == "ready")["fingerprint"]

    first, again, off = ready(), ready(), ready(TF_ENABLE_ONEDNN_OPTS="0")
    numerics = first["numerics"]
    assert isinstance(numerics["onednn"]["enabled"], bool)
    assert numerics["onednn"]["how"].startswith("asked TensorFlow: tensorflow::IsMKLEnabled()")
    assert numerics["threads"]["intra_op"] == numerics["threads"]["inter_op"] == 1
    assert numerics["numpy_simd"]["usable"] and numerics["numpy_blas"]["core"]
    assert not any(readings.is_unknown(v) for v in first["machine"].values())
    assert fingerprints.same_machine(first, again) == (True, [])
    verdict, reasons = fingerprints.same_machine(first, off)
    assert verdict is False
    assert reasons[0] == "TF_ENABLE_ONEDNN_OPTS unset → 0"
    assert reasons[1:] == (["oneDNN on → off"] if numerics["onednn"]["enabled"] else [])
