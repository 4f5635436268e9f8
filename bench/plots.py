"""Draw the performance page's plots from the benchmarks' JSON output (needs the ``bench``
extra: matplotlib).

    python bench/plots.py [--results bench/results] [--out docs/img]

Reads what the benches wrote with ``--json`` (``bench_local.py`` prints JSON on stdout):

* ``core.json``      ``bench_core.py --json``: schemastream vs the re-parse approach, core only
* ``openai.json``    ``bench_openai.py --json [--instructor PY --instructor-items ...]``:
                     through the real openai SDK over HTTP, bare loop vs schemastream (and
                     Instructor when it was run)
* ``web_bytes.json`` ``bench_web_bytes.py --json``: bytes on the wire per approach
* ``local.json``     ``bench_local.py --skip validity,first > local.json``: tokens/s

and writes ``cpu_vs_size.svg``, ``web_bytes.svg`` and ``local_speed.svg``. A missing input
skips its plot (and says so). The SVGs carry no date, so a rebuild from the same JSON gives
the same files with the same matplotlib.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COLOURS = {"ss": "#3949ab", "reparse": "#e53935", "sdk": "#757575", "instructor": "#fb8c00"}


def _load(results: Path, name: str) -> Any:
    path = results / name
    if not path.exists():
        print(f"skip: {path} is missing")
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _save(fig: Any, out: Path) -> None:
    fig.tight_layout()
    fig.savefig(out, format="svg", metadata={"Date": None})
    plt.close(fig)
    print(f"wrote {out}")


def cpu_vs_size(core: Any, oa: Any, out: Path) -> None:
    """Log-log CPU seconds vs document size: linear vs quadratic growth."""
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    if core:
        kb = [r["bytes"] / 1024 for r in core["rows"]]
        ax.plot(
            kb,
            [r["schemastream_cpu_s"] for r in core["rows"]],
            "o-",
            color=COLOURS["ss"],
            label="schemastream core (parse + validate + snapshot per chunk)",
        )
        ax.plot(
            kb,
            [r["reparse_cpu_s"] for r in core["rows"]],
            "o--",
            color=COLOURS["reparse"],
            label="re-parse core (jiter partial parse + validate per chunk)",
        )
    if oa:
        kb_per_item = oa["chars"] / oa["items"] / 1024
        growth = oa.get("growth")
        if growth:
            kb = [n * kb_per_item for n in growth["items"]]
            ax.plot(
                kb,
                growth["cpu_s"]["sdk-chat"],
                "s-",
                color=COLOURS["sdk"],
                label="bare openai SDK loop (read, concatenate)",
            )
            ax.plot(
                kb,
                growth["cpu_s"]["ss-create_partial"],
                "s-",
                color=COLOURS["ss"],
                alpha=0.55,
                label="schemastream create_partial via the SDK",
            )
        if oa.get("instructor"):
            rows = oa["instructor"]
            ax.plot(
                [r["items"] * kb_per_item for r in rows],
                [r["cpu_s"] for r in rows],
                "D-",
                color=COLOURS["instructor"],
                label="Instructor create_partial via the SDK",
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("document size (KB of JSON, 4-character chunks)")
    ax.set_ylabel("CPU seconds (client)")
    ax.set_title("CPU vs document size (log-log; slope 1 = linear, 2 = quadratic)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, out)


def web_bytes(data: Any, out: Path) -> None:
    """Bytes on the wire per approach, against the final JSON's size."""
    rows = data["rows"]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.4))
    names = [r["approach"] for r in rows][::-1]
    values = [r["bytes"] for r in rows][::-1]
    colours = [COLOURS["reparse"] if "snapshot" in n else COLOURS["ss"] for n in names]
    ax.barh(names, values, color=colours)
    for y, v in enumerate(values):
        ax.text(v * 1.1, y, f"{v / data['final_bytes']:,.1f}× final", va="center", fontsize=8)
    ax.axvline(data["final_bytes"], color="black", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlim(data["final_bytes"] / 4, max(values) * 30)
    ax.set_xlabel("bytes sent (log scale; dotted: the final JSON)")
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title(
        f"Web transport, {data['items']:,}-item list ({data['final_bytes']:,} bytes of JSON)"
    )
    _save(fig, out)


def local_speed(data: Any, out: Path) -> None:
    """Tokens/s of the embedded model, unconstrained vs constrained (median and best run)."""
    speed = data["speed"]
    kinds = [
        ("unconstrained", "unconstrained"),
        ("constrained", "constrained,\nevery token sampled"),
        ("constrained+ff", "constrained,\nforced tokens batched"),
    ]
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    width = 0.38
    for offset, key, label, alpha in (
        (-width / 2, "tokens_per_s_median", "median", 1.0),
        (width / 2, "tokens_per_s_best", "best run", 0.55),
    ):
        values = [speed[k][key] for k, _ in kinds]
        xs = [i + offset for i in range(len(kinds))]
        ax.bar(xs, values, width, color=COLOURS["ss"], alpha=alpha, label=label)
        for x, v in zip(xs, values):
            ax.text(x, v, f"{v:.1f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(kinds)), [label for _, label in kinds])
    model = data.get("model", {})
    ax.set_ylabel("tokens/s")
    ax.set_title(f"Embedded model, {model.get('threads', '?')} threads: what the grammar costs")
    top = max(speed[k]["tokens_per_s_best"] for k, _ in kinds)
    ax.set_ylim(0, top * 1.25)
    ax.legend(fontsize=8)
    _save(fig, out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = ap.parse_args(argv)
    plt.rcParams["svg.hashsalt"] = "schemastream"  # stable ids inside the SVG
    args.out.mkdir(parents=True, exist_ok=True)
    core, oa = _load(args.results, "core.json"), _load(args.results, "openai.json")
    if core or oa:
        cpu_vs_size(core, oa, args.out / "cpu_vs_size.svg")
    if (wb := _load(args.results, "web_bytes.json")) is not None:
        web_bytes(wb, args.out / "web_bytes.svg")
    if (local := _load(args.results, "local.json")) is not None:
        local_speed(local, args.out / "local_speed.svg")


if __name__ == "__main__":
    main()
