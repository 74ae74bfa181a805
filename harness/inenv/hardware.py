"""The "machine" section of the fingerprint: the CPU, its cache sizes three ways, the
kernel, the running libc and the OS; and the legacy "cpu" key.

The cache sizes are read as the kernel reports them (cpuid leaf 0x8000001D/4, in
sysfs), as glibc's sysconf reads them, and as Eigen's ``queryCacheSizes`` reads cpuid
itself, which is what TensorFlow's matrix products and XLA:CPU block by: two
machines that agree on the first two can still sum in another order.

None of it depends on the environment's packages, so the host reads this module too
(harness.matrix.machine: is this the blessing machine?). Python 3.7+, standard
library only; every reading that fails is ``{"unknown": why}`` (harness.inenv.readings).
"""

import ctypes
import mmap
import os
import platform
import re
import struct
import sys

from harness.inenv.readings import is_unknown, reading, unknown

# The CPU flags the first fingerprints recorded (the legacy "cpu" key keeps them);
# "machine" records the full set.
CPU_FLAGS = (
    "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw",
    "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8",
)

# glibc's sysconf names for the cache sizes (bits/confname.h; the values are ABI).
SYSCONF_CACHES = (("L1d", 188), ("L1i", 185), ("L2", 191), ("L3", 194), ("L4", 197))


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
    """The "machine" section's CPU: vendor, family, model, stepping, microcode and the
    sorted flag set from /proc/cpuinfo's first processor, and the logical CPU count;
    each field it cannot read is unknown, with why."""
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
    """The running kernel's release and build string (platform.release/version)."""
    return {"release": platform.release() or unknown("platform.release() is empty"),
            "version": platform.version() or unknown("platform.version() is empty")}


def libc():
    """The libc this process runs on (glibc's confstr) and the one the interpreter binary
    was linked against (platform.libc_ver)."""
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
    """The distribution's PRETTY_NAME from /etc/os-release (OSError when it is unreadable)."""
    with open(path) as fh:
        fields = dict(re.findall(r'^(\w+)="?(.*?)"?$', fh.read(), re.M))
    return fields.get("PRETTY_NAME") or unknown("no PRETTY_NAME in " + path)


def machine():
    """The "machine" section: the CPU, its caches, kernel, libc and OS."""
    return {
        "arch": platform.machine() or unknown("platform.machine() is empty"),
        "cpu": reading(cpu_facts),
        "caches": {
            "kernel": reading(kernel_caches),
            "glibc": reading(glibc_caches),
            "eigen": reading(eigen_caches),
        },
        "kernel": reading(kernel),
        "libc": reading(libc),
        "os": reading(os_release),
    }
