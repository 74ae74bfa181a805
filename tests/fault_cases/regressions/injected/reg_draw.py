"""reg_draw with a no-op layer that consumes one random draw when it is constructed."""

from _fixture import injections, model

VARIANTS, INVARIANTS = model.declared("draw")


def run(k, workdir, **params):
    with injections.activation_draws_once(k):
        return model.run(k, workdir, **params)
