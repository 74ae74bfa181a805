"""Clean twin of regressions/injected/reg_op_seed.py: blessed as the golden values."""

from tests.fault_cases import regression_model as model

VARIANTS, INVARIANTS = model.declared("op_seed")
run = model.run
