"""Clean twin of regressions/injected/reg_draw.py: blessed as the golden values."""

from tests.fault_cases import regression_model as model

VARIANTS, INVARIANTS = model.declared("draw")
run = model.run
