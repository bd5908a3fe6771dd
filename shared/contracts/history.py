"""Compare each committed version of every published event schema with the one before.

Git is the record of what was published: a schema file's history (``git log --follow``)
plus its working copy must be a chain of compatible changes (see
:mod:`shared.contracts.compat`). A breaking change belongs in a new event version.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

from shared.contracts.compat import breaking_changes

EVENTS_DIR = Path("contracts/events")
WORKING_COPY = "the working copy"


@dataclass(frozen=True)
class _Version:
    label: str
    text: str


def check_history(root: Path) -> list[str]:
    """Breaking changes between consecutive versions of each ``contracts/events/*.json``.

    Compares every committed version with the one committed before it, and the working
    copy with the newest commit. Outside a git checkout there is no history: the check
    is skipped with a message on stderr and no problems are returned.
    """
    reason = _why_no_history(root)
    if reason is not None:
        print(f"contracts: history check skipped: {reason}", file=sys.stderr)
        return []
    problems: list[str] = []
    events_dir = root / EVENTS_DIR
    for path in sorted(events_dir.glob("*.json")) if events_dir.is_dir() else []:
        problems += _file_problems(root, path)
    return problems


def _file_problems(root: Path, path: Path) -> list[str]:
    relative = path.relative_to(root)
    versions = _committed_versions(root, relative)
    current = path.read_text(encoding="utf-8")
    if not versions or versions[-1].text != current:
        versions.append(_Version(WORKING_COPY, current))
    problems: list[str] = []
    parsed: list[tuple[_Version, dict[str, Any]]] = []
    for version in versions:
        try:
            parsed.append((version, json.loads(version.text)))
        except json.JSONDecodeError as exc:
            problems.append(f"{relative}: not valid JSON in {version.label}: {exc}")
    for (old_version, old), (new_version, new) in pairwise(parsed):
        if old.get("$id") != new.get("$id"):
            # git --follow took a rename from another event type: a different contract.
            continue
        where = f"{new_version.label} (since {old_version.label})"
        problems += [
            f"{relative}: breaking change in {where}: {change}"
            for change in breaking_changes(old, new)
        ]
    return problems


def _committed_versions(root: Path, relative: Path) -> list[_Version]:
    """Each committed content of the file, oldest first, following renames."""
    log = _git(root, "log", "--follow", "--format=commit %H", "--name-only", "--", str(relative))
    commits: list[tuple[str, str]] = []
    sha = ""
    for line in log.splitlines():
        if line.startswith("commit "):
            sha = line.removeprefix("commit ").strip()
        elif line.strip() and sha:
            # --name-only paths are relative to the top of the repository, as git show wants.
            commits.append((sha, line.strip()))
            sha = ""
    versions: list[_Version] = []
    for sha, top_path in reversed(commits):
        try:
            text = _git(root, "show", f"{sha}:{top_path}")
        except subprocess.CalledProcessError:
            continue  # the commit deleted the file: no content to compare
        versions.append(_Version(f"commit {sha[:12]}", text))
    return versions


def _why_no_history(root: Path) -> str | None:
    if shutil.which("git") is None:
        return "git is not installed"
    try:
        inside = _git(root, "rev-parse", "--is-inside-work-tree").strip()
    except subprocess.CalledProcessError:
        inside = "false"
    return None if inside == "true" else f"{root} is not a git checkout"


def _git(root: Path, *args: str) -> str:
    git = shutil.which("git") or "git"
    # Arguments are file names and commit ids from git itself; no shell is involved.
    result = subprocess.run(  # noqa: S603
        [git, *args], cwd=root, capture_output=True, text=True, check=True
    )
    return result.stdout
