"""Clean twin of regressions/injected/reg_bn_epsilon.py: blessed as the golden values."""

from tests.fault_cases import regression_model as model

VARIANTS, INVARIANTS = model.declared("bn_epsilon")
run = model.run
