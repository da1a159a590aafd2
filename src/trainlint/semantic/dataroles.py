"""Compatibility shim for gate/anchors/selection.py, which imports `HELD_OUT` from here until
the gate rewrite reads it from vocab/roles.py. The role model is semantic/roles.py."""

from trainlint.vocab.roles import HELD_OUT

__all__ = ["HELD_OUT"]
