"""reg_op_seed with TF 1.x's op-seed derivation injected (seeds follow a layer counter)."""

from _fixture import injections, model

VARIANTS, INVARIANTS = model.declared("op_seed")


def run(k, workdir, **params):
    with injections.op_seed_from_layer_count(k):
        return model.run(k, workdir, **params)
