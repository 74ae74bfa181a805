"""Differences between the machines of two fingerprints, in words.

``machine_changes`` compares every recorded fact of the machine (CPU, its cache
sizes three ways, kernel, libc, OS) and of the numerics settings (numeric
variables, thread counts, XLA flags, oneDNN, numpy's SIMD dispatch and BLAS
kernel), read into a table by harness.check.machine_facts, and names each
difference: "L2 cache 1 MiB → 2 MiB", "kernel 6.18.44-a → 6.18.44-b", "oneDNN off →
on". It is never silent about what it cannot compare: a fact one side does not
record is named ("the blessing fingerprint does not record cache sizes, …"), and so
is a reading that failed, with why. ``same_machine`` turns that into the verdict the
round-off check needs.

The executable, the Python patch version and the packages are not machine facts
(the packages: harness.check.packages).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable

from harness.check.machine_facts import (
    CACHE_SOURCES,
    MACHINE_FACTS,
    NUMERICS_FACTS,
    Fact,
    Partial,
    Side,
    Unknown,
    as_unknown,
    read_side,
)
from harness.inenv.numerics import watches


class Kind(str, enum.Enum):
    """What a machine change is."""

    CHANGED = "changed"  # known on both sides, and different
    UNKNOWN = "unknown"  # a reading failed on one side (or on both, for different reasons)
    UNRECORDED = "unrecorded"  # one fingerprint does not record the fact at all


@dataclasses.dataclass(frozen=True)
class Change:
    """One machine difference, said in words (``str(change)``)."""

    kind: Kind
    facts: tuple[str, ...]  # the labels of the facts it is about
    text: str

    def __str__(self) -> str:
        return self.text


UNSET = "unset"  # a watched variable that is not set
# Compared as XLA_FLAGS/TF_XLA_FLAGS token sets, not as variables.
XLA_VARIABLES = ("XLA_FLAGS", "TF_XLA_FLAGS")


# -- saying it ----------------------------------------------------------------------------------


def _bytes(n: object) -> str:
    if not isinstance(n, int) or isinstance(n, bool):
        return str(n)
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} B"


def _render(value: object, form: str) -> str:
    if isinstance(value, Unknown):
        return f"unknown ({value.why})"
    if value is None:
        return "none"
    if form == "bytes":
        return _bytes(value)
    if form == "switch" and isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple | frozenset | set):
        items = sorted(map(str, value))
        shown = ", ".join(items[:8]) + (f", … ({len(items)} in all)" if len(items) > 8 else "")
        return "{" + shown + "}" if items else "none"
    if value == "":
        return "''"
    return str(value)


def _set_delta(before: Iterable, after: Iterable, limit: int = 12) -> str:
    a, b = set(map(str, before)), set(map(str, after))
    words = [f"+{x}" for x in sorted(b - a)] + [f"-{x}" for x in sorted(a - b)]
    more = f" … ({len(words) - limit} more)" if len(words) > limit else ""
    return " ".join(words[:limit]) + more


def _flag_delta(before: Iterable, after: Iterable) -> str:
    """A change of an options variable in words ("gained --a; lost b=1"): "+x -y" would read
    as options themselves when the tokens are options."""
    a, b = set(map(str, before)), set(map(str, after))
    parts = [f"{verb} {' '.join(sorted(items))}" for verb, items in (("gained", b - a), ("lost", a - b)) if items]
    return "; ".join(parts)


def _same(a: object, b: object) -> bool:
    if isinstance(a, list | tuple | set | frozenset) and isinstance(b, list | tuple | set | frozenset):
        return sorted(map(str, a)) == sorted(map(str, b))
    return a == b


def _compare(label: str, a: object, b: object, form: str) -> Change | None:
    """One fact known (or unknown) on both sides."""
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        if a == b:
            return None  # the same reading failed the same way on both: it cannot tell them apart
        return Change(Kind.UNKNOWN, (label,), f"{label} {_render(a, form)} → {_render(b, form)}")
    if _same(a, b):
        return None
    if form in ("set", "flags") and isinstance(a, list | tuple | set | frozenset) \
            and isinstance(b, list | tuple | set | frozenset):
        delta = _set_delta(a, b) if form == "set" else _flag_delta(a, b)
        return Change(Kind.CHANGED, (label,), f"{label} {delta}")
    return Change(Kind.CHANGED, (label,), f"{label} {_render(a, form)} → {_render(b, form)}")


def _within(value: object, universe: frozenset[str]) -> object:
    if isinstance(value, Partial):
        return value.values
    if isinstance(value, list | tuple | set | frozenset):
        return set(value) & universe
    return value


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _cache_changes(a: Side, b: Side, missing: dict[int, list[str]]) -> list[Change]:
    """Per level: one change when every source that knows the level moved alike
    ("L2 cache 1 MiB → 2 MiB"), else one per source that moved, saying which."""
    out = []
    rows: dict[str, list[tuple[str, object, object]]] = {}
    for source, how in CACHE_SOURCES:
        key = "caches." + source
        present = [key in s.facts for s in (a, b)]
        if not all(present):
            if any(present):
                missing[present.index(False)].append("cache sizes")
            continue
        ca, cb = a.facts[key], b.facts[key]
        if not isinstance(ca, dict) or not isinstance(cb, dict):
            change = _compare(f"cache sizes {how}", ca, cb, "plain")
            out += [change] if change else []
            continue
        for level in sorted({k for k in (*ca, *cb) if k != "how"}):
            rows.setdefault(level, []).append((how, as_unknown(ca.get(level)) or ca.get(level), as_unknown(cb.get(level)) or cb.get(level)))
    for level, entries in rows.items():
        moved = [c for c in (_compare(f"{level} cache {how}", va, vb, "bytes") for how, va, vb in entries) if c]
        alike = len({(repr(va), repr(vb)) for _, va, vb in entries}) == 1
        if len(entries) > 1 and len(moved) == len(entries) and alike and moved[0].kind == Kind.CHANGED:
            _, va, vb = entries[0]
            out.append(Change(Kind.CHANGED, tuple(c.facts[0] for c in moved),
                              f"{level} cache {_bytes(va)} → {_bytes(vb)}"))
        else:
            out.extend(moved)
    return out


def _env_changes(a: Side, b: Side, missing: dict[int, list[str]], names: tuple[str, str]) -> list[Change]:
    if a.watched is None or b.watched is None:
        for side, other in ((0, b), (1, a)):
            if (a, b)[side].watched is None and other.watched is not None:
                missing[side].append("the numeric variables")
        return []
    out = []
    variables = sorted({k[4:] for s in (a, b) for k in s.facts if k.startswith("env.")} - set(XLA_VARIABLES))
    unrecorded: dict[int, list[str]] = {0: [], 1: []}
    for name in variables:
        watched = [watches(s.watched or (), name) for s in (a, b)]
        if not all(watched):
            unrecorded[watched.index(False)].append(name)
            continue
        change = _compare(name, a.facts.get("env." + name, UNSET), b.facts.get("env." + name, UNSET), "plain")
        if change:
            out.append(change)
    for side, other in ((0, b), (1, a)):
        mine = set((a, b)[side].watched or ())
        others = [w for w in (other.watched or ()) if w not in mine and not watches(tuple(mine), w)]
        if unrecorded[side]:
            missing[side].append(f"the variables {', '.join(unrecorded[side])} (set in {names[1 - side]})")
        rest = [w for w in others if w not in unrecorded[side]]
        if rest:
            missing[side].append(f"whether {', '.join(rest)} are set")
    return out


def machine_changes(before: dict | None, after: dict | None, *, numerics: bool = True,
                    names: tuple[str, str] = ("the blessing fingerprint", "this run's fingerprint")) -> list[Change]:
    """Every difference in the machine facts (and, with ``numerics``, the numerics
    settings) between two fingerprints, one Change per fact, in words; facts one side
    does not record are named in one Change per side, last."""
    for fp, name in ((before, names[0]), (after, names[1])):
        if not fp:
            return [Change(Kind.UNRECORDED, (), f"there is no {name.removeprefix('the ')}: nothing can be compared")]
    a, b = read_side(before or {}), read_side(after or {})
    missing: dict[int, list[str]] = {0: [], 1: []}
    out: list[Change] = []

    def compare(facts: Iterable[Fact]) -> None:
        # A section unknown on one side ("numpy_simd": numpy too old) makes every
        # fact in it unknown for the same reason: one change says so.
        merged: dict[tuple[str, str], tuple[list[str], Change]] = {}
        for fact in facts:
            has = [fact.key in s.facts for s in (a, b)]
            if not all(has):
                if any(has):
                    missing[has.index(False)].append(fact.topic)
                continue
            va, vb = a.facts[fact.key], b.facts[fact.key]
            if isinstance(va, Partial) or isinstance(vb, Partial):
                universe = next(v.universe for v in (va, vb) if isinstance(v, Partial))
                for side, v in enumerate((va, vb)):
                    if isinstance(v, Partial) and not isinstance((va, vb)[1 - side], Partial):
                        missing[side].append(f"{fact.topic} (only {len(universe)} chosen flags)")
                va, vb = _within(va, universe), _within(vb, universe)
            change = _compare(fact.label, va, vb, fact.form)
            if change and change.kind == Kind.UNKNOWN:
                ua, ub = (v.why if isinstance(v, Unknown) else "" for v in (va, vb))
                if (ua, ub) in merged:
                    topics, group = merged[ua, ub]
                    topics += [fact.topic] if fact.topic not in topics else []
                    text = f"{_join(topics)} " + " → ".join(f"unknown ({u})" if u else "known" for u in (ua, ub))
                    merged[ua, ub] = topics, Change(Kind.UNKNOWN, group.facts + change.facts, text)
                    out[out.index(group)] = merged[ua, ub][1]
                    continue
                merged[ua, ub] = [fact.topic], change
            if change:
                out.append(change)

    compare(MACHINE_FACTS[:9])
    out.extend(_cache_changes(a, b, missing))
    compare(MACHINE_FACTS[9:])
    _compare_platform_tag(a, b, out, missing)
    if numerics:
        out.extend(_env_changes(a, b, missing, names))
        compare(NUMERICS_FACTS)
    for side in (0, 1):
        topics = list(dict.fromkeys(missing[side]))
        if topics:
            out.append(Change(Kind.UNRECORDED, tuple(topics), f"{names[side]} does not record {_join(topics)}"))
    return out


def _compare_platform_tag(a: Side, b: Side, out: list[Change], missing: dict[int, list[str]]) -> None:
    """The "with-glibc2.34" of the platform strings: the libc the first fingerprints
    tell of. It depends on the interpreter binary, so it counts only where the
    running libc is not recorded and both came from the same Python."""
    if "libc.running" in a.facts and "libc.running" in b.facts:
        return
    if "platform.tag" not in a.facts or "platform.tag" not in b.facts or a.python != b.python:
        return
    change = _compare("libc (platform string)", a.facts["platform.tag"], b.facts["platform.tag"], "plain")
    if change:
        out.append(change)


def platform_changes(before: dict | None, after: dict | None) -> list[str]:
    """Machine-level differences in words: machine_changes, for callers that print strings."""
    if not before or not after:
        return []
    return [str(c) for c in machine_changes(before, after, names=("the earlier fingerprint", "the later fingerprint"))]


def cause_key_changes(before: dict | None, after: dict | None) -> list[str]:
    """The machine differences that make a cause key: the facts known on both sides and
    different. What one fingerprint does not record varies with what each environment's
    older fingerprint happened to note, so it is said in the verdict but kept out of
    the key: one machine difference, one item. Only unknown facts: those, as they are."""
    if not before or not after:
        return []
    changes = machine_changes(before, after, names=("the earlier fingerprint", "the later fingerprint"))
    changed = [str(c) for c in changes if c.kind == Kind.CHANGED]
    return changed or [str(c) for c in changes]


def same_machine(before: dict | None, after: dict | None, *, numerics: bool = True,
                 names: tuple[str, str] = ("the blessing fingerprint", "this run's fingerprint"),
                 ) -> tuple[bool | None, list[str]]:
    """Whether two fingerprints come from the same machine with the same numerics settings.

    True: every recorded fact is equal and none is unknown on one side only, with no
    reasons. False: some fact differs; the reasons name every change (differences
    first). None: nothing differs, but some facts are unknown or not recorded; the
    reasons name them. A reading that failed the same way on both sides cannot tell
    the machines apart and does not count.
    """
    changes = machine_changes(before, after, numerics=numerics, names=names)
    if not changes:
        return True, []
    ordered = sorted(changes, key=lambda c: c.kind != Kind.CHANGED)
    verdict = False if any(c.kind == Kind.CHANGED for c in changes) else None
    return verdict, [str(c) for c in ordered]
