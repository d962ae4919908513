"""Summarise py-spy's raw (collapsed) stacks: self and inclusive share per function.

    py-spy record -r 2000 -f raw -o lib.txt -- \
        python -m bench.tools.profile --client lib-sse --tool none
    python -m bench.tools.stacks lib.txt --under "stream (bench/clients.py"

Only samples whose stack contains ``--under`` count (default: everything the
event loop runs) and none of ``--exclude`` (imports, client set-up). Line
numbers are dropped, so one function's lines add up.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r":\d+\)$")


def _name(frame: str) -> str:
    return _LINE.sub(")", frame.strip())


def summarise(path: Path, under: str, top: int, exclude: list[str]) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for raw in path.read_text("utf-8").splitlines():
        stack, _, count = raw.rpartition(" ")
        if not stack or under not in stack or any(x in stack for x in exclude):
            continue
        n = int(count)
        frames = [_name(f) for f in stack.split(";")]
        start = next(i for i, f in enumerate(frames) if under in f)
        frames = frames[start:]
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            inclusive[name] += n
    if not total:
        return f"no samples under {under!r}"
    lines = [f"{total} samples under {under!r}", "", "self %  function"]
    lines += [f"{100 * c / total:6.1f}  {name}" for name, c in own.most_common(top)]
    lines += ["", "incl %  function"]
    lines += [f"{100 * c / total:6.1f}  {name}" for name, c in inclusive.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--under", default="_run_once (asyncio/base_events.py")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--exclude",
        action="append",
        default=["_find_and_load", ".open (bench/"],
        help="leave out stacks holding this text (default: imports and client set-up)",
    )
    args = parser.parse_args()
    print(summarise(args.path, args.under, args.top, args.exclude))


if __name__ == "__main__":
    main()
