"""The typed documents every stage passes on: results, golden values, and their parts.

    results/<env>.json   Results  -> CaseResult -> VariantResult -> Observable
                                                            `-> Probe, Evidence
    golden/<env>.json    Golden   -> GoldenCase -> GoldenVariant -> Observable

One module per part, imported from where it lives:

    schema        the files' kind and version, and check_header
    observables   Observable (and its Kind), RunError: what one run gives
    probes        Probe, ModelTrace, Step, LayerState: what the adapter saw
    evidence      Evidence, Envelope, Transplant: what explains a difference
    declarations  Declaration, Same, AtMost, Claim, Ref, ToleranceOverride
    results       Results, CaseResult, VariantResult, RunStatus, EnvStatus, Determinism
    golden        Golden, GoldenCase, GoldenVariant (and the schema 1 upgrade)

Each class has ``from_json(where, data)`` (validating, raising DocumentError with
the file and the path inside it; see harness.core.reader) and ``to_json()``. What
the worker sends is parsed with the same functions, so a case returning a plain
float or a string is caught where it arrives. What a reader does with an older or
newer schema: see ``schema``.
"""
