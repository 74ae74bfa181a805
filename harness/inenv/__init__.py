"""Code that runs inside a pinned environment.

Rules for everything below this folder: Python 3.7 syntax, and imports limited to
the standard library, numpy and the framework under test, so the pins are never
disturbed and the oldest environment (TF 1.14 on Python 3.7) runs it unchanged.
"""
