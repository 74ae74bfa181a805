"""Differences between the installed packages of two fingerprints, in words.

``package_changes`` lists every one ("tensorflow 1.14.0 → 1.15.0", "+ keras 3.0.5",
"- h5py 2.9.0"); ``key_changes`` only those of KEY_PACKAGES, the packages that decide
numerics (the framework, numpy, protobuf). The package lists come from the
fingerprint's "packages" key (harness.inenv.fingerprint.installed_packages).
"""

from __future__ import annotations

# The packages whose versions decide numerics: a change here is named first.
KEY_PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "tf-keras", "jax", "jaxlib", "numpy", "protobuf")


def package_changes(before: dict | None, after: dict | None) -> list[str]:
    """"tensorflow 1.14.0 → 1.15.0", "+ keras 3.0.5", "- h5py 2.9.0", sorted by name.

    ``before`` and ``after`` are fingerprints (their "packages": {name: version});
    None, or a fingerprint without packages, counts as no packages."""
    a = (before or {}).get("packages", {}) or {}
    b = (after or {}).get("packages", {}) or {}
    out = []
    for name in sorted(set(a) | set(b)):
        if name not in a:
            out.append(f"+ {name} {b[name]}")
        elif name not in b:
            out.append(f"- {name} {a[name]}")
        elif a[name] != b[name]:
            out.append(f"{name} {a[name]} → {b[name]}")
    return out


def key_changes(before: dict | None, after: dict | None) -> list[str]:
    """The package_changes of KEY_PACKAGES only, in the same words and order."""
    return [c for c in package_changes(before, after) if c.lstrip("+- ").split(" ")[0] in KEY_PACKAGES]
