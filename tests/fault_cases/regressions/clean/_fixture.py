"""The shared pieces of the regression twins, loaded from tests/fault_cases by path:
a worker imports only the runner and the case's own folder, never the test suite."""

import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name):
    path = os.path.join(HERE, os.pardir, os.pardir, name + ".py")
    spec = importlib.util.spec_from_file_location("fixture_" + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


model = _load("regression_model")
injections = _load("injections")
