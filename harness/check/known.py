"""The reviewed list of known failures (known_failures.toml) and how it applies.

A failing verdict that matches an entry becomes "known" and does not fail the run;
a passing verdict that matches becomes "fixed" (failing only with --strict-known,
so the list stays honest); an entry that matches nothing is "stale".
"""

from __future__ import annotations

import dataclasses
import fnmatch

import tomllib

from harness.check.verdicts import Verdict
from harness.core.status import Outcome, Status

FAILING = (Outcome.REGRESSION, Outcome.ERROR, Outcome.NONDETERMINISTIC, Outcome.MISSING)


@dataclasses.dataclass(frozen=True)
class KnownFailure:
    env: str  # an environment id or a glob ("tf1.*-keras2")
    case: str
    check: str
    reason: str
    link: str = ""

    def matches(self, verdict: Verdict) -> bool:
        return (fnmatch.fnmatchcase(verdict.env, self.env) and fnmatch.fnmatchcase(verdict.case, self.case)
                and fnmatch.fnmatchcase(verdict.check, self.check))

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def load(path: str) -> list[KnownFailure]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return []
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from exc
    entries = []
    for i, raw in enumerate(data.get("failure", [])):
        missing = [k for k in ("env", "case", "check", "reason") if not raw.get(k)]
        if missing:
            raise ValueError(f"{path}: failure #{i + 1} lacks {', '.join(missing)}")
        entries.append(KnownFailure(raw["env"], raw["case"], raw["check"], raw["reason"], raw.get("link", "")))
    return entries


def apply(verdicts: list[Verdict], entries: list[KnownFailure]) -> list[Verdict]:
    out, used = [], set()
    for verdict in verdicts:
        entry = next((e for e in entries if e.matches(verdict)), None)
        if entry is None or verdict.check.startswith("drift:") or verdict.check.startswith("claim:"):
            out.append(verdict)
            continue
        used.add(entry)
        if verdict.outcome in FAILING:
            out.append(verdict.with_outcome(Outcome.KNOWN, entry.to_json(), f"Known failure: {entry.reason}"))
        elif verdict.outcome == Outcome.PASS:
            out.append(verdict.with_outcome(
                Outcome.FIXED, entry.to_json(),
                "It is listed as a known failure but now passes: remove the entry from known_failures.toml."))
        else:
            out.append(verdict)
    for entry in entries:
        if entry not in used:
            out.append(Verdict(entry.env, entry.case, entry.check, Status.MISSING, Outcome.STALE,
                               f"known failure entry ({entry.env}, {entry.case}, {entry.check}) matches no "
                               "verdict: the environment, case or check is gone or was renamed.",
                               known=entry.to_json()))
    return out
