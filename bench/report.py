"""What a run leaves behind: the terminal table, the JSON record, a Markdown table, PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

from .peers import IMPLS

__all__ = ["format_time", "tables", "markdown", "save_json", "save_plots"]

RATIO_NOTE = "(N.NN×) = peer time / gpugrad time: above 1 gpugrad is faster."
COMPILED = "gpugrad.compile"
COMPILED_HEADER = "torch / gpugrad.compile (goal)"


def format_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_bytes(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} B"


def format_rate(per_s: float) -> str:
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if per_s >= scale:
            return f"{per_s / scale:.3g}{unit}/s"
    return f"{per_s:.3g}/s"


def _cell(row: dict) -> str:
    status = row["status"]
    if status != "ok":
        return status
    text = f"{format_time(row['per_op_s'])} ±{100 * row['spread']:.0f}%"
    if row["items"]:
        text = f"{format_rate(row['items_per_s'])} {text}"
    if row["impl"] not in ("gpugrad", COMPILED) and row.get("ratio") is not None:
        text += f" ({row['ratio']:.2f}×)"
    return text


def _verdict(value: float, goal: float | None, at_least: bool) -> str:
    if goal is None:
        return ""
    met = value >= goal if at_least else value <= goal
    return f" ({'≥' if at_least else '≤'}{goal:g}: {'met' if met else 'NOT met'})"


def _compiled_cells(by_impl: dict) -> tuple[str, str]:
    """The speed-up of the compiled step over PyTorch eager against the case's goal, and the
    compiled step's peak memory over eager gpugrad's (the goal: no more)."""
    row, eager = by_impl.get(COMPILED, {}), by_impl.get("gpugrad", {})
    speed = memory = ""
    if row.get("speedup_vs_torch") is not None:
        speed = f"{row['speedup_vs_torch']:.2f}×" + _verdict(row["speedup_vs_torch"],
                                                             row.get("goal"), True)
    if row.get("peak_bytes") is not None and eager.get("peak_bytes"):
        share = row["peak_bytes"] / eager["peak_bytes"]
        memory = f"{share:.2f} of eager" + _verdict(share, 1, False)
    return speed, memory


def _columns(rows: list[dict]) -> list[str]:
    """gpugrad, then the implementations that ran (or tried to) somewhere in these rows."""
    present = {r["impl"] for r in rows if r["status"] not in ("missing", "n/a")}
    return [i for i in IMPLS if i == "gpugrad" or i in present]


def _grid(workload, rows: list[dict], floor: dict | None) -> tuple[list[str], list[list[str]]]:
    cols = _columns(rows)
    header = ["case", *cols]
    has_bytes = any(r["bytes"] for r in rows)
    has_memory = any(r.get("peak_bytes") is not None for r in rows)
    has_compiled = any(r["impl"] == COMPILED and r["status"] == "ok" for r in rows)
    if has_bytes:
        header.append("gpugrad GB/s (floor)" if floor else "gpugrad GB/s")
    if has_compiled:
        header.append(COMPILED_HEADER)
    body = []
    for case in dict.fromkeys(r["case"] for r in rows):
        by_impl = {r["impl"]: r for r in rows if r["case"] == case}
        line = [case, *(_cell(by_impl[c]) if c in by_impl else "" for c in cols)]
        if has_bytes:
            ours = by_impl.get("gpugrad", {})
            text = ""
            if ours.get("gbps") is not None:
                text = f"{ours['gbps']:.3g}"
                if ours.get("floor_fraction") is not None:
                    text += f" ({100 * ours['floor_fraction']:.0f}%)"
            line.append(text)
        speed, memory = _compiled_cells(by_impl) if has_compiled else ("", "")
        body.append(line + ([speed] if has_compiled else []))
        if has_memory:
            body.append(["  peak memory", *(
                format_bytes(by_impl[c]["peak_bytes"])
                if c in by_impl and by_impl[c].get("peak_bytes") is not None else ""
                for c in cols
            )] + ([""] if has_bytes else []) + ([memory] if has_compiled else []))
    return header, body


def _unit(rows: list[dict]) -> str:
    return "time per op" if any(r["ops"] > 1 for r in rows) else "time per step"


def _problems(rows: list[dict]) -> list[str]:
    seen = {}
    for r in rows:
        if r["status"] in ("error", "feature missing"):
            seen.setdefault((r["impl"], r["reason"]), r["case"])
    return [f"{impl} [{case}]: {reason}" for (impl, reason), case in seen.items()]


def tables(workloads, rows: list[dict], floor: dict | None) -> str:
    """One plain-text table per workload, for the terminal."""
    out = []
    for w in workloads:
        mine = [r for r in rows if r["workload"] == w.name]
        if not mine:
            continue
        header, body = _grid(w, mine, floor)
        widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
        out.append(f"== {w.name}: {w.title} ({_unit(mine)}, median ±IQR) ==")
        out.append("  ".join(h.ljust(n) for h, n in zip(header, widths)))
        out.extend("  ".join(str(x).ljust(n) for x, n in zip(line, widths)) for line in body)
        out.append(f"   {w.definition}")
        out.extend(f"   {impl}: {note}" for impl, note in _notes(mine).items())
        out.extend(f"   {line}" for line in _infos(mine))
        out.extend(f"   ! {p}" for p in _problems(mine))
        out.append("")
    out.append(RATIO_NOTE)
    return "\n".join(out)


def _notes(rows: list[dict]) -> dict:
    return {r["impl"]: r["note"] for r in rows if r.get("note") and r["status"] == "ok"}


def _infos(rows: list[dict]) -> list[str]:
    """What the implementations said about their own run (a step's ``info``), per case."""
    return [f"{r['impl']} [{r['case']}]: {r['info']}" for r in rows if r.get("info")]


def markdown(workloads, rows: list[dict], meta: dict) -> str:
    """The tables in Markdown, as ``bench/RESULTS.md`` keeps them."""
    m = meta["machine"]
    floor = meta.get("floor")
    out = [f"### {m['name']}, {meta['device']}, {meta['date']}", "",
           f"Command: `{meta['command']}` ({meta['scale']} run)",
           ""]
    out.append("Peers: " + ", ".join(
        f"{name} {p['version'] or ''}".strip() if p["missing"] is None
        else f"{name} (missing: {p['missing']})"
        for name, p in meta["peers"].items()
    ) + ".")
    threads, load = meta.get("threads", {}), meta.get("load_average", {})
    out.append(f"Threads: torch {threads.get('torch', '-')} (requested: "
               f"{threads.get('requested') or 'library default'}); load average (1, 5, 15 min) "
               f"before {load.get('before')}, after {load.get('after')}.")
    if floor:
        out.append(f"Floor: copy bandwidth {floor['gbps']:.3g} GB/s ({floor['how']}, "
                   f"{format_bytes(floor['bytes'])}).")
    out.append(RATIO_NOTE)
    out.append("")
    for w in workloads:
        mine = [r for r in rows if r["workload"] == w.name]
        if not mine:
            continue
        header, body = _grid(w, mine, floor)
        out.append(f"**{w.name}**: {w.title} ({_unit(mine)}, median ±IQR). {w.definition}")
        out.append("")
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "---|" * len(header))
        out.extend("| " + " | ".join(str(x).strip() for x in line) + " |" for line in body)
        notes = [f"{impl}: {note}" for impl, note in _notes(mine).items()]
        notes += _infos(mine)
        notes += [f"{p}" for p in _problems(mine)]
        if notes:
            out.append("")
            out.extend(f"- {n}" for n in notes)
        out.append("")
    return "\n".join(out)


def save_json(path: Path, meta: dict, rows: list[dict]) -> None:
    path.write_text(json.dumps({**meta, "results": rows}, indent=1, default=str) + "\n")


def save_plots(directory: Path, stem: str, workloads, rows: list[dict], title: str) -> list[Path]:
    """One PNG per workload: log-log time against size for sweeps, bars otherwise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for w in workloads:
        mine = [r for r in rows if r["workload"] == w.name and r["status"] == "ok"]
        if not mine:
            continue
        fig = _sweep(plt, w, mine) if w.sweep else _bars(plt, w, mine)
        fig.suptitle(f"{w.name}: {w.title}\n{title}", fontsize=10)
        fig.tight_layout()
        path = directory / f"{stem}_{w.name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _series(label: str) -> str:
    """Sweep cases are labelled ``"<series> n=2^k"``; the series names a subplot."""
    return label.rsplit(" n=", 1)[0] if " n=" in label else ""


def _sweep(plt, w, rows):
    series = list(dict.fromkeys(_series(r["case"]) for r in rows))
    fig, axes = plt.subplots(1, len(series), figsize=(6 * len(series), 4.5), squeeze=False)
    for ax, name in zip(axes[0], series):
        for impl in IMPLS:
            pts = sorted((r["size"], r["median_s"], r["q1_s"], r["q3_s"]) for r in rows
                         if r["impl"] == impl and _series(r["case"]) == name)
            if not pts:
                continue
            n, med, lo, hi = zip(*pts)
            ax.plot(n, med, marker="o", label=impl, color=_color(impl))
            ax.fill_between(n, lo, hi, alpha=0.2, color=_color(impl))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("elements")
        ax.set_ylabel("seconds per step (median, IQR band)")
        ax.set_title(name or w.name, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    return fig


def _color(impl: str) -> str:
    return f"C{IMPLS.index(impl)}"


def _bars(plt, w, rows):
    cases = list(dict.fromkeys(r["case"] for r in rows))
    fig, axes = plt.subplots(len(cases), 1, figsize=(7, 0.6 + 1.7 * len(cases)), squeeze=False)
    for ax, case in zip(axes[:, 0], cases):
        mine = [r for r in rows if r["case"] == case]
        names = [r["impl"] for r in mine]
        per_op = [r["per_op_s"] for r in mine]
        err = [[(r["median_s"] - r["q1_s"]) / r["ops"] for r in mine],
               [(r["q3_s"] - r["median_s"]) / r["ops"] for r in mine]]
        ax.barh(names, per_op, xerr=err, color=[_color(n) for n in names])
        for y, (r, t, hi) in enumerate(zip(mine, per_op, err[1])):
            ratio = f" ({r['ratio']:.2f}×)" if r.get("ratio") and r["impl"] != "gpugrad" else ""
            if r["impl"] == COMPILED and r.get("speedup_vs_torch"):
                ratio = f" ({r['speedup_vs_torch']:.2f}× faster than torch)"
            ax.text(t + hi, y, f" {format_time(t)}{ratio}", va="center", fontsize=8)
        ax.set_xlim(0, 1.4 * max(t + hi for t, hi in zip(per_op, err[1])))
        ax.invert_yaxis()
        ax.set_title(case, fontsize=9)
        ax.set_xlabel("seconds per op" if mine[0]["ops"] > 1 else "seconds per step")
        ax.grid(True, axis="x", alpha=0.3)
    return fig
