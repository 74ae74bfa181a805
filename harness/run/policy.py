"""When a second run tells something: the determinism repeat, decided per case.

A run that reproduces its golden values bit for bit needs no repeat: the golden
values came from two agreeing runs in another process (bless refuses anything
else), so the match is the second run. That holds on another machine too: a
nondeterministic run does not land on another process's bits, and where the
machine moved the bits the variant differs from golden and is repeated. A repeat
runs

- for every variant, beside the first run, when the case has no golden values or
  when the user asks (--repeat 2): there the first run has nothing to be checked
  against;
- afterwards, for the variants whose result differs from golden, on this machine or
  another one (a changed fingerprint, or one that cannot be told): it tells
  nondeterminism (the two runs differ) from a real or round-off difference (they agree);
- never with --repeat 1.
"""

from __future__ import annotations

import dataclasses

from harness.core.documents.golden import Golden
from harness.matrix import machine


@dataclasses.dataclass(frozen=True)
class CasePolicy:
    case: str
    repeat_beside: bool  # a second process runs every variant at the same time
    repeat_differing: bool  # variants that differ from golden run again afterwards
    why: str  # one phrase for the log
    blessed_here: bool = False  # the golden values come from this machine (same fingerprint)


def decide(cases: list[str], golden: Golden | None, repeat: int | None) -> dict[str, CasePolicy]:
    """The repeat policy of each case; ``repeat`` is the user's --repeat (None: auto)."""
    out = {}
    for case in cases:
        if repeat == 1:
            out[case] = CasePolicy(case, False, False, "--repeat 1: one run")
        elif repeat is not None and repeat >= 2:
            out[case] = CasePolicy(case, True, False, f"--repeat {repeat}: every variant {repeat} times")
        elif golden is None or case not in golden.cases:
            out[case] = CasePolicy(case, True, False, "no golden values: every variant twice, to check "
                                   "that it is deterministic")
        else:
            same, differences = machine.blessed_here(golden.cases[case].fingerprint)
            if same:
                out[case] = CasePolicy(case, False, True, "golden values from this machine: one run, a "
                                       "second only where a result differs from them", blessed_here=True)
            else:
                changed = [d for d in differences if "does not record" not in d]
                why = "; ".join(changed[:3]) if changed else "the blessing fingerprint does not record enough to tell"
                out[case] = CasePolicy(case, False, True, f"golden values from another machine ({why}): one "
                                       "run, a second where a result differs from them (a bitwise match with "
                                       "them is the determinism check)")
    return out
