"""Clean twin of regressions/injected/reg_draw.py: blessed as the golden values."""

from _fixture import injections, model  # noqa: F401

VARIANTS, INVARIANTS = model.declared("draw")
run = model.run
