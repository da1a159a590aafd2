"""Role look-ups through assigned values stay linear in the module, not exponential.

A long script reassigns the same names (`X`, `y`, `net`) hundreds of times; following every
value of every value used to take minutes on d2l's 140 kB `torch.py`. The bound is on the
number of role evaluations (deterministic), never on time.
"""

from unittest import mock

from trainlint.semantic.roles import DataRoles
from trainlint.core.config import Config
from trainlint.run.engine import lint_source


def _reassigning_script(rounds: int) -> str:
    lines = ["import torch", "best_acc = 0.0"]
    for step in range(rounds):
        lines += [
            f"X = torch.cat([X, y, net(X)])  # round {step}",
            "y = net(X) + y",
            "net = wrap(net, X, y)",
            "val_acc = evaluate(net, X, y)",
            "if val_acc > best_acc:",
            "    best_acc = val_acc",
            "    torch.save(net.state_dict(), 'best.pt')",
        ]
    lines.append("print(best_acc)")
    return "\n".join(lines) + "\n"


def _role_evaluations(rounds: int) -> int:
    original = DataRoles._computed_roles
    with mock.patch.object(DataRoles, "_computed_roles", autospec=True, side_effect=original) as spy:
        lint_source(_reassigning_script(rounds), "reassign.py", Config())
    return spy.call_count


def test_role_evaluations_grow_linearly_with_reassignments():
    small, large = _role_evaluations(8), _role_evaluations(32)
    assert small > 0
    # 4x the script: linear growth is about 4x (quadratic would be 16x, cubic 64x)
    assert large <= 6 * small, (small, large)
