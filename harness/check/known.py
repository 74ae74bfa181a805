"""The reviewed list of known failures (known_failures.toml) and how it applies.

A failing verdict that matches an entry becomes "known" and does not fail the run;
a passing verdict that matches becomes "fixed" (failing only with --strict-known,
so the list stays honest); an entry that matches nothing is "stale".
"""

from __future__ import annotations

import dataclasses
import fnmatch
import sys

from harness.check.verdicts import Verdict
from harness.core import reader
from harness.core.reader import DocumentError, Where
from harness.core.status import Check, Outcome, Status, parse_check

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as a package
    import tomli as tomllib

FAILING = (Outcome.REGRESSION, Outcome.ERROR, Outcome.NONDETERMINISTIC, Outcome.MISSING)


@dataclasses.dataclass(frozen=True)
class KnownFailure:
    env: str  # an environment id or a glob ("tf1.*-keras2")
    case: str
    check: str
    reason: str
    link: str = ""

    def matches(self, verdict: Verdict) -> bool:
        """Whether ``verdict``'s environment, case and check id match this entry's shell-style
        patterns (case-sensitive)."""
        return (fnmatch.fnmatchcase(verdict.env, self.env) and fnmatch.fnmatchcase(verdict.case, self.case)
                and fnmatch.fnmatchcase(verdict.check_id, self.check))

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


FIELDS = ("env", "case", "check", "reason", "link")


def load(path: str) -> list[KnownFailure]:
    """The entries of ``path`` (none when it does not exist). DocumentError names the
    entry and field of anything malformed: a misspelt table (``[[failures]]``), an
    unknown or missing field, a field that is not a string."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"{path}: cannot be read ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DocumentError(f"{path}: not valid TOML ({exc})") from exc
    where = Where(path, fix="see the comment at the top of known_failures.toml")
    reader.mapping(where, data, ("failure",))
    entries = []
    for i, raw in enumerate(reader.field(where, data, "failure", reader.listof(reader.mapping), default=[])):
        at = where.at("failure").at(i)
        reader.mapping(at, raw, FIELDS)
        values = {k: reader.field(at, raw, k, reader.string, default="") for k in FIELDS}
        missing = [k for k in ("env", "case", "check", "reason") if not values[k].strip()]
        if missing:
            raise at.error(f"lacks {', '.join(missing)}")
        try:
            parse_check(values["check"].rstrip("*"))
        except ValueError:
            if not values["check"].endswith("*"):
                raise at.at("check").error(f"{values['check']!r} is no check (golden, run, determinism, "
                                           "environment, invariant:<name>, claim:<name>)") from None
        entries.append(KnownFailure(**values))
    return entries


def apply(verdicts: list[Verdict], entries: list[KnownFailure],
          ran: set[tuple[str, str]] | None = None) -> list[Verdict]:
    """Known entries turn matching failures into KNOWN and matching passes into FIXED.
    An entry that matches no verdict is STALE only where it could have matched: some
    environment and case it names ran (``ran``: (env, case) pairs; None: everything).
    A user's own cases, or a subset of environments, leave the others' entries alone."""
    out, used = [], set()
    for verdict in verdicts:
        entry = next((e for e in entries if e.matches(verdict)), None)
        if entry is None or verdict.check.drift or verdict.check == Check.CLAIM:
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
        could_match = ran is None or any(fnmatch.fnmatchcase(env, entry.env) and fnmatch.fnmatchcase(case, entry.case)
                                         for env, case in ran)
        if entry not in used and could_match:
            check, name = _check_of(entry.check)
            out.append(Verdict(entry.env, entry.case, check, Status.MISSING, Outcome.STALE,
                               f"known failure entry ({entry.env}, {entry.case}, {entry.check}) matches no "
                               "verdict: the environment, case or check is gone or was renamed.",
                               name=name, known=entry.to_json()))
    return out


def _check_of(check_id: str) -> tuple[Check, str | None]:
    try:
        return parse_check(check_id)
    except ValueError:  # a check that does not exist: still shown, under its own words
        return Check.RUN, check_id
