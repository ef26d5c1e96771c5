"""The commit a report is stamped with (report.document.code_version), read without running git:
compared with what `git rev-parse HEAD` says in a plain checkout and in linked worktrees."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from roi_pipeline.report.document import code_version

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(cwd), "PATH": "/usr/bin:/bin"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.delenv("ROI_GIT_COMMIT", raising=False)
    main = tmp_path / "main"
    main.mkdir()
    git(main, "init", "-q", "-b", "main")
    for n in (1, 2):
        (main / "f.txt").write_text(str(n))
        git(main, "add", "f.txt")
        git(main, "commit", "-q", "-m", f"c{n}")
    return main


def test_plain_checkout_loose_and_packed_refs(repo):
    assert code_version(repo)["git_commit"] == git(repo, "rev-parse", "HEAD")
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert code_version(repo)["git_commit"] == git(repo, "rev-parse", "HEAD")


def test_linked_worktrees_on_a_branch_and_detached(repo, tmp_path):
    first = git(repo, "rev-parse", "HEAD~1")
    git(repo, "worktree", "add", "-q", "-b", "other", str(tmp_path / "wt-branch"), first)
    git(repo, "worktree", "add", "-q", "--detach", str(tmp_path / "wt-detached"), "HEAD")
    assert (tmp_path / "wt-branch" / ".git").is_file()
    assert code_version(tmp_path / "wt-branch")["git_commit"] == first
    assert code_version(tmp_path / "wt-detached")["git_commit"] == git(repo, "rev-parse", "HEAD")
    git(repo, "pack-refs", "--all")  # the branch's ref now only in the main repository's packed-refs
    assert code_version(tmp_path / "wt-branch")["git_commit"] == first


def test_no_repository_and_the_environment_first(tmp_path, monkeypatch):
    monkeypatch.delenv("ROI_GIT_COMMIT", raising=False)
    assert code_version(tmp_path)["git_commit"] is None
    monkeypatch.setenv("ROI_GIT_COMMIT", "abc123")
    assert code_version(tmp_path)["git_commit"] == "abc123"
