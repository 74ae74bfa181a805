"""Beside the flow: the first release of a package that changes a case."""
