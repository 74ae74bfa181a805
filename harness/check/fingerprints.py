"""Differences between two environments' fingerprints, in words."""

from __future__ import annotations


def package_changes(before: dict | None, after: dict | None) -> list[str]:
    """"tensorflow 1.14.0 → 1.15.0", "+ keras 3.0.5", "- h5py 2.9.0", sorted by name."""
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


KEY_PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "tf-keras", "jax", "jaxlib", "numpy", "protobuf")


def key_changes(before: dict | None, after: dict | None) -> list[str]:
    return [c for c in package_changes(before, after) if c.lstrip("+- ").split(" ")[0] in KEY_PACKAGES]


def platform_changes(before: dict | None, after: dict | None) -> list[str]:
    """Machine-level differences (CPU model and features, platform, numeric variables)."""
    a, b = before or {}, after or {}
    out = []
    ca, cb = a.get("cpu", {}) or {}, b.get("cpu", {}) or {}
    if ca.get("model") != cb.get("model"):
        out.append(f"CPU {ca.get('model')} → {cb.get('model')}")
    fa, fb = set(ca.get("flags", [])), set(cb.get("flags", []))
    if fa != fb:
        gained, lost = sorted(fb - fa), sorted(fa - fb)
        out.append("CPU features" + (f" +{','.join(gained)}" if gained else "") + (f" -{','.join(lost)}" if lost else ""))
    if a.get("env") != b.get("env"):
        out.append(f"numeric variables {a.get('env')} → {b.get('env')}")
    return out
