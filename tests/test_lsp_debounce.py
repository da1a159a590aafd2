"""The debounce of the language server: immediate after a pause, delayed within a burst."""

from trainlint.frontends.lsp.debounce import Debouncer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_first_change_is_linted_at_once_and_a_burst_waits():
    clock = Clock()
    debouncer = Debouncer(0.1, pause=0.25, clock=clock)
    assert debouncer.delay("a.py") == 0.0  # the first change ever
    clock.now += 0.08
    assert debouncer.delay("a.py") == 0.1  # typing on
    clock.now += 0.2
    assert debouncer.delay("a.py") == 0.1  # still the same burst: each keystroke restarts it
    clock.now += 0.3
    assert debouncer.delay("a.py") == 0.0  # after a pause


def test_documents_are_debounced_apart_and_closing_forgets():
    clock = Clock()
    debouncer = Debouncer(0.1, pause=0.25, clock=clock)
    debouncer.delay("a.py")
    clock.now += 0.05
    assert debouncer.delay("b.py") == 0.0  # another document's burst does not count
    assert debouncer.delay("a.py") == 0.1
    debouncer.forget("a.py")
    assert debouncer.delay("a.py") == 0.0  # reopened
