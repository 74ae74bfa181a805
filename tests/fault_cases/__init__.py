"""Test-only material for the fault-injection tests (tests/test_faults.py and
tests/test_injected_regressions.py); nothing here is part of the product.

Each sub-folder (clean/, faults/, control/, regressions/clean/, regressions/injected/)
is a case folder that a test hands to the real harness on its own. Those cases,
and regression_model.py and injections.py which they import, run inside the
pinned environment: Python 3.7 syntax, the standard library, numpy and the adapter
``k`` only. Behaviour a test switches on from outside (a marker to wait for) comes
through environment variables, which reach the worker unchanged.

drive.py is the host side: it runs the harness on those folders in temporary
folders and reads what it wrote.
"""
