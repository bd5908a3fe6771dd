"""``python -m shared.contracts generate|check`` (``make contracts`` runs ``generate``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shared.contracts import check, check_history, generate

# The checkout this module belongs to: shared/contracts/__main__.py -> repository root.
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    """Run the command; the exit status is 1 when ``check`` found problems."""
    parser = argparse.ArgumentParser(prog="python -m shared.contracts", description=__doc__)
    parser.add_argument("command", choices=("generate", "check"))
    parser.add_argument(
        "--root", type=Path, default=REPOSITORY_ROOT, help="repository root (default: this one)"
    )
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    if args.command == "generate":
        written = generate(root)
        for relative in written:
            print(f"wrote {relative}")
        print(f"contracts up to date ({len(written)} file(s) written)")
        return 0
    problems = check(root) + check_history(root)
    for problem in problems:
        print(f"contracts: {problem}", file=sys.stderr)
    if problems:
        return 1
    print("contracts are current and compatible")
    return 0


if __name__ == "__main__":
    sys.exit(main())
