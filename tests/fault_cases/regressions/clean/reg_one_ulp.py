"""Clean twin of regressions/injected/reg_one_ulp.py: blessed as the golden values."""

from _fixture import injections, model  # noqa: F401

VARIANTS, INVARIANTS = model.declared("one_ulp")
run = model.run
