"""Clean twin of regressions/injected/reg_one_ulp.py: blessed as the golden values."""

from tests.fault_cases import regression_model as model

VARIANTS, INVARIANTS = model.declared("one_ulp")
run = model.run
