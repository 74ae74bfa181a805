"""Stage 3: results against golden values, invariants, claims and each other: verdicts."""
