"""(being written)"""

from __future__ import annotations

from typing import Dict

from trainlint.anchors.tree import Fact, Predicate

PREDICATES: Dict[str, Predicate] = {}
FACTS: Dict[str, Fact] = {}
