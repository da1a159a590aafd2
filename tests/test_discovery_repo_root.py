"""A .gitignore above the repository root does not apply inside it (found by the benchmark,
whose corpus is a repository of its own inside this git-ignored bench/.corpus)."""

from __future__ import annotations

import os

from trainlint.core.config import Config
from trainlint.run.discovery import discover


def test_gitignore_above_the_repository_root_is_not_applied(tmp_path, monkeypatch):
    (tmp_path / ".gitignore").write_text("inner/\n")
    inner = tmp_path / "inner"
    (inner / ".git").mkdir(parents=True)
    (inner / "pkg").mkdir()
    (inner / "pkg" / "train.py").write_text("x = 1\n")
    monkeypatch.chdir(inner)
    files, _ = discover(["."], Config())
    assert [os.path.normpath(f) for f in files] == [os.path.join("pkg", "train.py")]
    files, _ = discover([str(inner)], Config())
    assert len(files) == 1
