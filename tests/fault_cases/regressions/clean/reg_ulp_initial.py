"""Clean twin of regressions/injected/reg_ulp_initial.py: blessed as the golden values."""

from _fixture import injections, model  # noqa: F401

VARIANTS, INVARIANTS = model.declared("ulp_initial")
run = model.run
