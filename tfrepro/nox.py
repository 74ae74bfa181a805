"""The nox plugin: the tfrepro matrix in your own noxfile.

    # noxfile.py
    import tfrepro.nox

    tfrepro.nox.matrix_sessions(cases="cases/")

defines ``matrix(<env>)`` for every environment, ``matrix`` (all of them, then one
comparison), ``compare``, ``report``, ``bless`` and ``bisect``. Results, golden
values and the report are folders beside your noxfile; see
harness.sessions.matrix_sessions for every argument (``envs=``, ``tags=``,
``golden=``, ``known_failures=`` ...).
"""

from harness.sessions import matrix_sessions

__all__ = ["matrix_sessions"]
