"""The benchmarks' figures, kept as they are measured and printed together as one table.

Each benchmark calls :func:`record` with its rows (a figure, the limit measured beside it in
the same run, their ratio and the aim); ``python benchmarks/results.py --workdir DIR`` prints
every recorded row as one table (``make bench`` ends with it).

    .venv/bin/python benchmarks/results.py --workdir data/bench
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def record(workdir: Path, benchmark: str, setting: str, rows: list[dict]) -> None:
    """Keep ``rows`` (``what``, ``figure``, ``limit``, ``ratio``, ``aim``: text) of ``benchmark``."""
    folder = Path(workdir) / "results"
    folder.mkdir(parents=True, exist_ok=True)
    kept = {
        "benchmark": benchmark,
        "setting": setting,
        "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": round(os.getloadavg()[0], 1),
        "rows": rows,
    }
    (folder / f"{benchmark}.json").write_text(json.dumps(kept, indent=1), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args(argv)
    files = sorted((args.workdir / "results").glob("*.json"))
    if not files:
        print(f"no benchmark results under {args.workdir / 'results'}", file=sys.stderr)
        return 1
    header = ("what", "figure", "limit (same run)", "ratio", "aim")
    lines = []
    for path in files:
        kept = json.loads(path.read_text(encoding="utf-8"))
        lines.append(
            f"## {kept['benchmark']}: {kept['setting']} ({kept['measured']}, load average {kept['load_average']})"
        )
        lines.append(" | ".join(header))
        lines.append(" | ".join("---" for _ in header))
        lines += [
            " | ".join(str(row.get(k, "")) for k in ("what", "figure", "limit", "ratio", "aim")) for row in kept["rows"]
        ]
        lines.append("")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
