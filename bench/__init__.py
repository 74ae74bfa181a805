"""`nox -s bench`: what the harness costs on this machine, next to the bare framework work.

Not part of the harness: nothing in harness/ imports it. See matrix_bench for the phases.
"""
