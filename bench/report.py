"""The results as the README quotes them: ``latest.json`` and a Markdown table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.common import ratio


def _number(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, float) and value >= 100):
        return f"{value:,.0f}"
    if isinstance(value, float) and value < 0.1:
        return f"{value:.3f}"
    return f"{value:,.1f}" if isinstance(value, float) else str(value)


def table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| stage | measure | database | figure | baseline (same run) | figure ÷ baseline "
        "| target | meets |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        baseline = _number(row["baseline"])
        if row["baseline_what"] and row["baseline"] is not None:
            baseline += f" ({row['baseline_what']})"
        meets = "" if row["meets"] is None else ("✅" if row["meets"] else "❌")
        lines.append(
            f"| {row['stage']} | {row['measure']} | {row['database']} | "
            f"{_number(row['value'])} {row['unit']} | {baseline} | "
            f"{_number(ratio(row['value'], row['baseline']))} | {row['target']} | {meets} |"
        )
    return lines


def _context(results: dict[str, Any]) -> list[str]:
    host = results["machine"]
    lines = [
        f"Measured {results['finished_at']} on {host['cpus']} CPUs ({host['cpu_model']}), "
        f"{host['memory_mb']:,} MB, Python {host['python']}; command `{results['command']}`.",
        "",
    ]
    for name, stage in results["stages"].items():
        status = "failed: " + stage["error"] if stage.get("error") else "ok"
        lines.append(
            f"- **{name}**: {status}; {stage.get('seconds', 0):,.0f} s; load average "
            f"{stage.get('load_before')} → {stage.get('load_after')}; options "
            f"`{stage.get('options_summary', '')}`"
        )
    return lines


def _hotspots(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for stage, entry in results["stages"].items():
        for database, figures in (entry.get("results") or {}).items():
            profile = figures.get("profile") if isinstance(figures, dict) else None
            if not profile or "self" not in profile:
                continue
            lines += [
                "",
                f"### Profile of {stage} ({database}): `{Path(profile['file']).name}`",
                "",
                f"{profile['samples']:,} samples. Top frames by own time:",
                "",
                *(
                    f"{i}. {f['frame']} — {f['share']:.1%}"
                    for i, f in enumerate(profile["self"][:10], 1)
                ),
                "",
                "Project frames by inclusive time:",
                "",
                *(
                    f"{i}. {f['frame']} — {f['share']:.1%}"
                    for i, f in enumerate(profile["inclusive_project"][:10], 1)
                ),
            ]
    return lines


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# An Sinh benchmarks",
        "",
        *_context(results),
        "",
        *table(results["rows"]),
        *_hotspots(results),
        "",
    ]
    return "\n".join(lines)


def write(results: dict[str, Any], directory: Path, name: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / f"{name}.json", directory / f"{name}.md"
    json_path.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
    md_path.write_text(markdown(results))
    return json_path, md_path
