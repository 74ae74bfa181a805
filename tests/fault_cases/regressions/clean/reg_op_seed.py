"""Clean twin of regressions/injected/reg_op_seed.py: blessed as the golden values."""

from _fixture import injections, model  # noqa: F401

VARIANTS, INVARIANTS = model.declared("op_seed")
run = model.run
