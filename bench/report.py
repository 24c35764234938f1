"""The benchmark's report: tables per size and configuration, and the targets of issue 10.

``render_results(run, results_dir)`` turns one run (the JSON ``bench/run.py`` writes) into
Markdown: the machine, date, commit and command, each size's tables, then every target's
ratio computed from the tables (never typed in by hand).
"""

import json
from pathlib import Path
from typing import Any

READS = [
    "posts_anon",
    "posts_signed",
    "deep_anon",
    "threads_anon",
    "threads_signed",
    "search_rare",
    "search_common",
    "html_thread",
]


def render_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| row | req/s | p50 ms | p95 ms | p99 ms | vs ceiling | non-2xx "
        "| req/s, clean rounds | KB/resp | queries (SQL ms) | CPU busy (others) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        non2xx = f"{row['non2xx']}" + (f" {row['statuses']}" if row["statuses"] else "")
        if row["errors"]:
            non2xx += f" +{row['errors']} socket errors"
        spread = " / ".join(f"{x:,}" for x in row["clean_rps"]) or "none (flagged)"
        name = row["name"] + ("" if row["clean"] else " (disturbed)")
        at_least = "≥ " if row.get("unanswered") else ""  # no answer within the sample
        lines.append(
            f"| {name} | {row['rps']:,.0f} | {at_least}{row['p50']:.1f} "
            f"| {at_least}{row['p95']:.1f} | {at_least}{row['p99']:.1f} "
            f"| {row['vs_ceiling']:.2f} | {non2xx} | {spread} "
            f"| {row['kb_per_response']:.1f} | {row['queries']} ({row['sql_ms']:.1f}) "
            f"| {row['busy']}% ({row['others']}%) |"
        )
    return "\n".join(lines)


def render_size(result: dict[str, Any]) -> str:
    meta = result["meta"]
    steps = meta.get("seed_phases", [])
    steps = steps.items() if isinstance(steps, dict) else steps  # seeded by an older run.py
    phases = ", ".join(f"{k} {v}s" for k, v in steps)
    lines = [
        f"### {result['posts']:,} posts",
        "",
        f"- data: {meta['threads']:,} threads, {meta['posts']:,} posts (long thread "
        f"{meta['big_thread_posts']:,} posts; deep page: page {result.get('deep_page', '?')}), "
        f"{meta['users']:,} accounts, {meta['likes']:,} likes, {meta['follows']:,} follows; "
        f"fan thread {meta['fan_followers']:,} followers; database {meta.get('size', '?')} "
        "when seeded",
        (
            "- reused, as seeded by an earlier run: "
            if result["reused"]
            else f"- migrated in {result['migrate_seconds']:.1f}s, then "
        )
        + f"seeded in {meta['seed_seconds']}s ({phases})",
    ]
    failing: dict[str, dict[str, int]] = {}
    for config in result["configs"]:
        for row in config["rows"]:
            for status, count in row["statuses"].items():
                counts = failing.setdefault(row["name"], {})
                counts[status] = counts.get(status, 0) + count
    if failing:
        lines.append(
            "- **non-2xx answers** (these rows measured failures too): "
            + "; ".join(f"{name} {counts}" for name, counts in failing.items())
        )
    if result.get("problems"):
        lines.append(f"- gunicorn logged {len(result['problems'])} error lines: see its log")
    for config in result["configs"]:
        lines += [
            "",
            f"**{config['workers']} worker(s), {config['connections']} connection(s)**",
            "",
            render_table(config["rows"]),
        ]
    fanout = result.get("fanout")
    if fanout:
        lines += ["", "**Fan-out** (`bench/fanout.py`)", "", fanout_lines(fanout)]
    return "\n".join(lines) + "\n"


def fanout_lines(fanout: dict[str, Any]) -> str:
    if fanout.get("missing"):
        return f"- not measured: {fanout['missing']}"
    out = []
    for run in fanout["runs"]:
        out.append(
            f"- {run['label']}: {run['followers']:,} followers, {run['created']:,} notifications "
            f"in {run['seconds']:.3f}s, {run['queries']} queries, {run['chunks']} chunk(s), "
            f"{run['queries_per_chunk']} queries per chunk"
        )
    return "\n".join(out)


def _rows(size: dict[str, Any]) -> dict[tuple[int, int], dict[str, dict[str, Any]]]:
    return {
        (c["workers"], c["connections"]): {row["key"]: row for row in c["rows"]}
        for c in size["configs"]
    }


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    """p50 of a over p50 of b; None when b never answered (its p50 is only a lower bound).

    When a never answered, its p50 is a lower bound, and so is the ratio: still judged.
    """
    if not a or not b or not b["p50"] or b.get("unanswered"):
        return None
    return float(a["p50"] / b["p50"])


def _cell(value: float | None, limit: float | None, *, at_most: bool, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if limit is None:
        return f"{value:.{digits}f}"
    met = value <= limit if at_most else value >= limit
    return f"{value:.{digits}f} {'✓' if met else '✗'}"


def baseline(run: dict[str, Any], results_dir: Path) -> tuple[dict[str, Any] | None, str]:
    """The small size the largest one's reads are compared with: this run's, or the latest."""
    sizes = sorted(run["sizes"], key=lambda s: s["posts"])
    if len(sizes) >= 2 and sizes[0]["configs"]:
        return sizes[0], "this run"
    largest = sizes[-1]["posts"]
    for path in sorted(results_dir.glob("*.json"), reverse=True):
        try:
            other = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for size in other.get("sizes", []):
            if size["posts"] * 100 <= largest and size.get("configs"):
                return size, f"`bench/results/{path.name}` (commit {other.get('commit')})"
    return None, ""


def targets(run: dict[str, Any], results_dir: Path) -> str:
    sizes = sorted(run["sizes"], key=lambda s: s["posts"])
    large = sizes[-1]
    rows = _rows(large)
    configs = sorted(rows)
    if not configs:
        return "No load was measured: no targets."
    head = "| target | " + " | ".join(f"{w}w {c}c" for w, c in configs) + " |"
    lines = [head, "|---|" + "---:|" * len(configs)]

    def line(label: str, values: list[float | None], limit: float | None, *, at_most: bool) -> None:
        cells = [_cell(v, limit, at_most=at_most) for v in values]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def get(table: dict[tuple[int, int], Any], config: tuple[int, int], key: str) -> Any:
        return table.get(config, {}).get(key)

    for size in sizes:
        table = _rows(size)
        n = f"{size['posts']:,} posts"
        for key, label, limit in (
            ("posts_anon", "posts page anonymous / ceiling ≥ 0.8", 0.8),
            ("posts_signed", "posts page signed in / ceiling ≥ 0.5", 0.5),
            ("threads_anon", "thread list anonymous / ceiling ≥ 0.4", 0.4),
            ("threads_signed", "thread list signed in / ceiling ≥ 0.4", 0.4),
        ):
            values = [(get(table, c, key) or {}).get("vs_ceiling") for c in configs]
            line(f"{label} ({n})", values, limit, at_most=False)

    small, source = baseline(run, results_dir)
    if small is not None and small is not large:
        small_rows = _rows(small)
        for key in READS:
            ratios: list[float | None] = []
            for c in configs:
                a, b = get(rows, c, key), get(small_rows, c, key)
                ratios.append(_ratio(a, b))
            name = (get(rows, configs[0], key) or {}).get("name", key)
            line(
                f"p50 at {large['posts']:,} / at {small['posts']:,} posts ≤ 1.3: {name}",
                ratios,
                1.3,
                at_most=True,
            )
    for key in ("search_rare", "search_common"):
        values = [(get(rows, c, key) or {}).get("p50") for c in configs]
        name = (get(rows, configs[0], key) or {}).get("name", key)
        line(f"{name} p50 ms ≤ 50 ({large['posts']:,} posts)", values, 50, at_most=True)
    for key, base, label, judged in (
        ("reply_fan", "reply_quiet", "reply p50, fan thread / its 1-follower twin ≤ 1.2", 1.2),
        ("hot_read", "control_read", "posts page p50, hot thread / control ≤ 1.2", 1.2),
        ("hot_reply", "control_reply", "reply p50, hot thread / control ≤ 1.2", 1.2),
        ("hot_read", "posts_anon", "posts page p50, hot thread / alone (not judged)", None),
        ("hot_reply", "reply", "reply p50, hot thread / alone (not judged)", None),
    ):
        values = []
        for c in configs:
            a, b = get(rows, c, key), get(rows, c, base)
            values.append(_ratio(a, b))
        line(f"{label} ({large['posts']:,} posts)", values, judged, at_most=True)

    notes = [
        "",
        "Columns: gunicorn sync workers (w) and wrk connections (c). Latency targets are best "
        "read at 1 connection: at 8, a p50 includes waiting behind the other connections' "
        "requests. The issue's 'replies and reads of other threads unchanged while a hot thread "
        "takes ten replies at once' is read as: p50 while ten replies go to the fan thread "
        "≤ 1.2x the p50 while ten replies go to ordinary threads (the control): with sync "
        "workers any ten busy connections make a request wait its turn, so 'alone' is shown "
        "for reading, not judged.",
    ]
    if small is None:
        notes.append(
            "The 1 M / 1 k comparison needs a small size: run `--posts 1000,1000000` "
            "(or a 1,000-post run first)."
        )
    elif small is not large:
        notes.append(f"Small size for the p50 comparison: {small['posts']:,} posts, from {source}.")
    notes.append(
        "n/a: the row compared with never answered within a sample (its p50 is only a lower "
        "bound, marked ≥ in the tables)."
    )
    fanout = large.get("fanout")
    if fanout and not fanout.get("missing"):
        fan = max(fanout["runs"], key=lambda r: r["followers"])
        notes.append(
            f"\nFan-out ≤ 2 s: {fan['followers']:,} followers in {fan['seconds']:.2f}s "
            f"{'✓' if fan['seconds'] <= 2 else '✗'}; {fan['queries_per_chunk']} queries per "
            "chunk (constant when the figure is the same for every follower count above)."
        )
    elif fanout:
        notes.append(f"\nFan-out ≤ 2 s: not measured ({fanout['missing']}).")
    else:
        notes.append("\nFan-out ≤ 2 s: not measured in this run (`--fanout`).")
    return "\n".join(lines + notes)


def render_results(run: dict[str, Any], results_dir: Path) -> str:
    m = run["machine"]
    o = run["options"]
    lines = [
        "# Haven benchmark results",
        "",
        f"Generated from the run of {run['date']} (`bench/run.py --write-results`, or "
        "`python -m bench.report` on the run's JSON in `bench/results/`); do not edit by hand.",
        "",
        f"- machine: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM; load client {m['wrk']}",
        f"- commit: `{run['commit']}`" + (" (with uncommitted changes)" if run["dirty"] else ""),
        f"- command: `{run['command']}`",
        f"- each row: {o['duration']:g}s per sample, the median of {o['rounds']} clean "
        "interleaved rounds (a round where unrelated processes used the CPU is taken again); "
        "the ceiling (a bare DRF view returning a fixed posts page) measured in the same rounds",
        "- queries (SQL ms): one request in-process (Django test client), fastest of three",
        "",
    ]
    for size in run["sizes"]:
        lines.append(render_size(size))
    lines += ["## Targets", "", targets(run, results_dir), ""]
    return "\n".join(lines)


def main() -> int:
    """Render a run's JSON again (``bench/results/<stamp>-<sizes>.json``) to stdout."""
    import sys

    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m bench.report bench/results/<run>.json")
    path = Path(sys.argv[1])
    print(render_results(json.loads(path.read_text()), path.parent), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
