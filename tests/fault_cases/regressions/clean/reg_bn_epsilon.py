"""Clean twin of regressions/injected/reg_bn_epsilon.py: blessed as the golden values."""

from _fixture import injections, model  # noqa: F401

VARIANTS, INVARIANTS = model.declared("bn_epsilon")
run = model.run
