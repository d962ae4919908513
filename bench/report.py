"""BENCHMARKS.md and its plots from the results dictionary of :mod:`bench.run`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import ollama_backend
from bench.common import rate as _rate

RESULTS_DIR = Path("bench") / "results"  # relative to the report's folder


def _us(stat: dict[str, float]) -> str:
    return f"{stat['median'] * 1e6:.2f} ({stat['min'] * 1e6:.2f}–{stat['max'] * 1e6:.2f})"


def _ms(stat: dict[str, float] | None) -> str:
    if not stat:
        return "n/a"
    return f"{stat['median'] * 1e3:.2f} ({stat['min'] * 1e3:.2f}–{stat['max'] * 1e3:.2f})"


def _na(value: object) -> str:
    return "n/a" if value is None else str(value)


def _ok(met: bool | None) -> str:
    return "n/a" if met is None else ("**met**" if met else "**not met**")


def problems(res: dict[str, Any]) -> list[str]:
    """Correctness failures (not timings): a client that could not read the exact answer,
    a concurrent run with errors, a library request that opened a needless connection."""
    found = [
        f"{label}: {why}"
        for label, why in res.get("unavailable", {}).items()
        if not label.startswith("gpt4free")  # optional, lives in its own venv
    ]
    for row in res.get("concurrency", {}).get("clients", {}).values():
        if "failed" in row:
            found.append(f"concurrency {row['label']}: {row['failed'][-200:]}")
        elif row["errors"]:
            found.append(f"concurrency {row['label']}: {row['errors']} errors")
    reuse = res.get("reuse")
    if reuse is not None and not reuse["met"]:
        found.append(f"connection reuse: {reuse}")
    return found


def targets(res: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met?) rows; met is None when the part did not run."""
    rows: list[tuple[str, str, bool | None]] = []
    pc = res.get("per_chunk", {})
    if "lib-sse" in pc and "aiohttp" in pc:
        ratio = pc["lib-sse"]["wall"]["median"] / pc["aiohttp"]["wall"]["median"]
        rows.append(
            (
                "per-chunk wall ≤ 0.85× plain aiohttp readline + json.loads loop (SSE)",
                f"{ratio:.3f}×",
                ratio <= 0.85,
            )
        )
    if "lib-native" in pc and "aiohttp-native" in pc:
        ratio = pc["lib-native"]["wall"]["median"] / pc["aiohttp-native"]["wall"]["median"]
        rows.append(
            ("(same, native route vs the native aiohttp loop)", f"{ratio:.3f}×", ratio <= 0.85)
        )
    mods = res.get("imports", {}).get("modules", {})
    if "ollama_provider" in mods and "ollama" in mods:
        ratio = mods["ollama_provider"]["import"]["median"] / mods["ollama"]["import"]["median"]
        rows.append(
            ("`import ollama_provider` ≤ 0.35× `import ollama`", f"{ratio:.3f}×", ratio <= 0.35)
        )
    conc = res.get("concurrency", {}).get("clients", {})
    lib, plain = conc.get("lib-sse", {}), conc.get("aiohttp", {})
    if "wall" in lib:
        shape = f"{res['concurrency']['streams']}×{res['concurrency']['chunks']}"
        rows.append((f"{shape} concurrent: zero errors", str(lib["errors"]), lib["errors"] == 0))
        rss = lib["rss_peak_mb"]["max"]
        rows.append(
            (f"{shape} concurrent: peak RSS ≤ 100 MB", f"{rss:.1f} MB (worst run)", rss <= 100)
        )
        if "wall" in plain:
            ratio = lib["wall"]["median"] / plain["wall"]["median"]
            rows.append((f"{shape} concurrent: wall ≤ aiohttp loop", f"{ratio:.3f}×", ratio <= 1.0))
    backend = res.get("backend", {})
    if "ratio" in backend:
        rows.append(
            (
                "real backend tokens/s ≥ 0.98× plain loop",
                f"{backend['ratio']:.3f}×",
                backend["ratio"] >= 0.98,
            )
        )
    else:
        rows.append(("real backend tokens/s ≥ 0.98× plain loop", "skipped", None))
    emb = res.get("inference", {}).get("embeddings")
    if emb:
        n = f"{emb['texts']:,}"
        rows.append(
            (
                f"embed {n} texts ≤ 0.5× ollama-python",
                f"{emb['vs_ollama']:.2f}×",
                emb["vs_ollama"] <= 0.5,
            )
        )
        rows.append(
            (
                f"embed {n} texts ≤ the best plain aiohttp loop",
                f"{emb['vs_best_plain']:.2f}×",
                emb["vs_best_plain"] <= 1.0,
            )
        )
        gen = res["inference"]["generate"]
        rows.append(
            (
                "generate per chunk ≤ 1.05× chat's (native)",
                f"{gen['ratio']:.2f}×",
                gen["ratio"] <= 1.05,
            )
        )
    several = res.get("servers")
    if several:
        ratio = several["throughput"]["ratio"]
        rows.append(
            ("3 servers as a list: tokens/s ≥ 2.7× one server's", f"{ratio:.2f}×", ratio >= 2.7)
        )
        extra = several["dead"]["extra_ms"]
        rows.append(
            (
                "1 of 3 servers refusing connections: extra latency per call < 5 ms",
                f"{extra:.3f} ms",
                extra < 5.0,
            )
        )
        spread = several["spread"]["concurrent"]  # one at a time: all to the first, by rule
        worst_share = spread["worst_deviation"]
        shares = " / ".join(map(str, spread["shares"]))
        rows.append(
            (
                f"{several['spread_calls']:,} calls ({spread['at_once']} at once) to 3 equal "
                "servers: each within ±10 % of even",
                f"{shares} (worst {worst_share:.1%})",
                worst_share <= 0.10,
            )
        )
    scaling = res.get("worst", {}).get("scaling")
    if scaling is not None:
        rows.append(
            (
                "tool-call fragments: time(2n) / time(n) ≤ 2.5 (linear)",
                f"{scaling:.2f}",
                scaling <= 2.5,
            )
        )
    for route in ("native", "v1"):
        target = f"real Ollama ({route}) tokens/s ≥ 0.98× plain loop"
        measured = res.get("ollama", {}).get("routes", {}).get(route)
        if measured:
            rows.append((target, f"{measured['ratio']:.3f}×", measured["ratio"] >= 0.98))
        else:
            rows.append((target, "skipped", None))
    reuse = res.get("reuse")
    if reuse:
        shown = ", ".join(f"{k}: {v}" for k, v in reuse.items() if k != "met")
        rows.append(("connection reuse (2nd request opens no connection)", shown, reuse["met"]))
    return rows


def plot(res: dict[str, Any], out_dir: Path) -> list[str]:
    """Writes the PNGs; returns their paths relative to ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made: list[str] = []
    (out_dir / RESULTS_DIR).mkdir(parents=True, exist_ok=True)
    pc = res.get("per_chunk", {})
    if pc:
        keys = sorted(pc, key=lambda k: pc[k]["wall"]["median"])
        labels = [pc[k]["label"] for k in keys]
        fig, ax = plt.subplots(figsize=(10, 0.55 * len(keys) + 1.6))
        y = range(len(keys))
        for offset, what, color in ((-0.2, "wall", "#4878d0"), (0.2, "cpu", "#ee854a")):
            med = [pc[k][what]["median"] * 1e6 for k in keys]
            lo = [m - pc[k][what]["min"] * 1e6 for m, k in zip(med, keys, strict=True)]
            hi = [pc[k][what]["max"] * 1e6 - m for m, k in zip(med, keys, strict=True)]
            ax.barh([i + offset for i in y], med, 0.4, xerr=[lo, hi], label=what, color=color)
            for i, m, up in zip(y, med, hi, strict=True):
                ax.annotate(
                    f"{m:.2f}", (m + up, i + offset), xytext=(4, -3), textcoords="offset points"
                )
        ax.set_yticks(list(y), labels)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(right=max(pc[k]["wall"]["max"] for k in keys) * 1e6 * 2)
        ax.set_xlabel("µs per chunk, log scale (median; whiskers: min–max)")
        ax.set_title(f"Per-chunk cost, {res['config']['chunks']}-chunk streams over loopback")
        ax.legend()
        fig.tight_layout()
        path = RESULTS_DIR / "per_chunk.png"
        fig.savefig(out_dir / path, dpi=110)
        plt.close(fig)
        made.append(str(path))
    conc = res.get("concurrency", {}).get("clients", {})
    keys = [k for k in conc if "wall" in conc[k]]
    if keys:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.2 + 0.3 * len(keys)))
        labels = [conc[k]["label"] for k in keys]
        med = [conc[k]["wall"]["median"] for k in keys]
        lo = [m - conc[k]["wall"]["min"] for m, k in zip(med, keys, strict=True)]
        hi = [conc[k]["wall"]["max"] - m for m, k in zip(med, keys, strict=True)]
        ax1.barh(labels, med, xerr=[lo, hi], color="#4878d0")
        ax1.set_xlabel("wall seconds (median, min–max)")
        ax1.invert_yaxis()
        ax2.barh(labels, [conc[k]["rss_peak_mb"]["median"] for k in keys], color="#6acc64")
        ax2.set_xlabel("peak RSS of the client process, MB")
        ax2.set_yticks([])
        ax2.invert_yaxis()
        info = res["concurrency"]
        fig.suptitle(f"{info['streams']} concurrent streams × {info['chunks']} chunks")
        fig.tight_layout()
        path = RESULTS_DIR / "concurrency.png"
        fig.savefig(out_dir / path, dpi=110)
        plt.close(fig)
        made.append(str(path))
    return made


def markdown(res: dict[str, Any], images: list[str]) -> str:
    cfg, machine = res["config"], res["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Command: `{cfg['command']}` (CI runs `{cfg['smoke_command']}`, which exercises every",
        "path with tiny sizes and checks nothing about timing). Raw numbers go to",
        f"`{RESULTS_DIR / 'results.json'}` (not committed).",
        "",
        "Machine: " + "; ".join(f"{k}: {v}" for k, v in machine.items()),
        "",
        "Sections (when run, 1-minute load average before → after; other work on this",
        "2-core machine skews wall times): "
        + "; ".join(f"{k} at {v['at']}, load {v['load']}" for k, v in res["sections"].items())
        + ".",
        "",
        "All clients run in one process against a loopback server in another process",
        "(`bench/server.py`); rounds alternate between clients (the order rotates each",
        "round) and every table shows the median with the min–max range.",
        "",
        "## Targets",
        "",
        "| target | measured | status |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {t} | {m} | {_ok(ok)} |" for t, m, ok in targets(res)]
    lines += ["", *(f"![{Path(p).stem}]({p})" for p in images), ""]
    pc = res.get("per_chunk", {})
    if pc:
        base = pc.get("aiohttp", {}).get("wall", {}).get("median")
        lines += [
            f"## Per-chunk cost ({cfg['chunks']} chunks per stream, {cfg['rounds']} rounds)",
            "",
            "Wall and client CPU (`time.process_time`) per text chunk for a whole warm-connection",
            "stream; `vs aiohttp` is the wall-time ratio to the plain aiohttp readline +",
            "`json.loads` loop; `server CPU` is the server process's CPU per chunk meanwhile.",
            "",
            "| client | route | wall µs/chunk | CPU µs/chunk | vs aiohttp | server CPU µs/chunk |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for key in sorted(pc, key=lambda k: pc[k]["wall"]["median"]):
            row = pc[key]
            ratio = f"{row['wall']['median'] / base:.2f}×" if base else "n/a"
            lines.append(
                f"| {row['label']} | {row['route']} | {_us(row['wall'])} | {_us(row['cpu'])} "
                f"| {ratio} | {row['server_cpu']['median'] * 1e6:.2f} |"
            )
        worst = max(pc[k]["server_cpu"]["median"] / pc[k]["cpu"]["median"] for k in pc)
        lines += ["", f"Server CPU was at most {worst:.0%} of a client's CPU per chunk.", ""]
    paced = res.get("paced", {})
    if paced:
        base_cpu = paced.get("aiohttp", {}).get("cpu", {}).get("median")
        lines += [
            f"## One chunk per read ({cfg['paced_chunks']} chunks written "
            f"{cfg['paced_us']} µs apart, {cfg['paced_rounds']} rounds)",
            "",
            "A real model sends a token every few milliseconds, so each socket read holds one",
            "chunk and the per-read path (wake-up, read call, decoder call, yield) dominates.",
            "Wall time is set by the server's pace here; client CPU per chunk is the figure.",
            "",
            "| client | route | CPU µs/chunk | vs aiohttp (CPU) |",
            "| --- | --- | --- | --- |",
        ]
        for key in sorted(paced, key=lambda k: paced[k]["cpu"]["median"]):
            row = paced[key]
            ratio = f"{row['cpu']['median'] / base_cpu:.2f}×" if base_cpu else "n/a"
            lines.append(f"| {row['label']} | {row['route']} | {_us(row['cpu'])} | {ratio} |")
        lines.append("")
    skipped = res.get("unavailable", {})
    if skipped:
        lines += ["Clients that did not run:", ""]
        lines += [f"- {label}: {why}" for label, why in skipped.items()]
        lines.append("")
    fc = res.get("first_chunk", {})
    if fc:
        lines += [
            f"## Time to first chunk ({cfg['ttfc_rounds']} rounds)",
            "",
            "Warm: on the client's pooled connection. Cold: a new client/pool made inside the",
            "timed span (for this library `ollama_provider.aclose()` first). `new conns` is",
            "what the server accepted during that request.",
            "",
            "| client | warm ms | new conns (warm) | cold ms | new conns (cold) |",
            "| --- | --- | --- | --- | --- |",
        ]
        for row in fc.values():
            lines.append(
                f"| {row['label']} | {_ms(row['warm'])} | {row['warm_new_connections']} "
                f"| {_ms(row['cold'])} | {_na(row['cold_new_connections'])} |"
            )
        lines.append("")
    reuse = res.get("reuse")
    if reuse:
        shown = ", ".join(f"{k} {v}" for k, v in reuse.items() if k != "met")
        lines += [
            "## Connection reuse",
            "",
            "Connections the server accepted per request, requests in a row on one pool",
            f"(first after `aclose()`): {shown}.",
            "",
        ]
    mods = res.get("imports", {}).get("modules", {})
    if mods:
        lines += [
            f"## Import time ({res['imports']['runs']} fresh interpreters each)",
            "",
            "`import` is timed inside the interpreter; `process − bare` is the whole process",
            "minus a bare `python -c pass`.",
            "",
            "| module | import ms | process ms | process − bare ms |",
            "| --- | --- | --- | --- |",
        ]
        for label, row in mods.items():
            lines.append(
                f"| {label} | {_ms(row['import'])} | {_ms(row['process'])} "
                f"| {row['process_minus_bare'] * 1e3:.1f} |"
            )
        lines.append("")
    conc = res.get("concurrency", {})
    if conc.get("clients"):
        lines += [
            f"## {conc['streams']} concurrent streams × {conc['chunks']} chunks",
            "",
            "Each run is a fresh client process. `peak RSS` is its `ru_maxrss` (the parent",
            "forks it while still small, as Linux carries the parent's RSS at fork into it);",
            "`VmHWM` is the same peak read from `/proc/self/status`; `baseline` is VmHWM after",
            "imports and client setup, before the streams start.",
            "",
            "| client | wall s | CPU s | errors | peak RSS MB | VmHWM MB | baseline MB "
            "| connections |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in conc["clients"].values():
            if "wall" not in row:
                lines.append(f"| {row['label']} | failed: {row['failed'][:120]} | | | | | | |")
                continue
            lines.append(
                f"| {row['label']} | {row['wall']['median']:.3f} ({row['wall']['min']:.3f}–"
                f"{row['wall']['max']:.3f}) | {row['cpu']['median']:.3f} | {row['errors']} "
                f"| {row['rss_peak_mb']['median']:.1f} | {row['hwm_peak_mb']['median']:.1f} "
                f"| {row['rss_baseline_mb']['median']:.1f} "
                f"| {row['connections']['median']:.0f} |"
            )
        lines.append("")
    backend = res.get("backend", {})
    lines += ["## Real backend (llama.cpp)", ""]
    if "skipped" in backend:
        lines += [f"Skipped: {backend['skipped']}", ""]
    elif backend:
        chunks = backend["chunks"]
        lines += [
            f"{backend['model']}; {backend['tokens']} tokens per answer (temperature 0, seed,",
            "`ignore_eos`), rounds alternating library/plain; tokens/s = the server's",
            f"completion token count / the client's wall time; {backend['rounds']} rounds.",
            "",
            "| client | tokens/s | text chunks |",
            "| --- | --- | --- |",
            f"| ollama_provider | {_rate(backend['library'])} "
            f"| {chunks['library']['median']:.0f} |",
            f"| plain aiohttp loop | {_rate(backend['plain'])} | {chunks['plain']['median']:.0f} |",
            "",
            f"Ratio: {backend['ratio']:.3f}. This llama-server closes the connection after",
            "every streamed answer although it announces keep-alive, so each request after the",
            "first finds its pooled connection dead: the library retries once by itself, and",
            "the plain loop here does the same (without that, 1 in 3 of its POSTs failed).",
            "",
        ]
        if backend.get("other_llama_servers"):
            lines += [
                f"Warning: {backend['other_llama_servers']} other llama-server process(es) were"
                " running on this machine meanwhile; they share the cores, so tokens/s is low"
                " and noisy.",
                "",
            ]
    from bench import inference, servers, worst

    lines += worst.markdown(res.get("worst", {}))
    lines += inference.markdown(res.get("inference", {}))
    lines += ollama_backend.markdown(res.get("ollama", {}))
    lines += servers.markdown(res.get("servers", {}))
    lines += ["## gpt4free", "", res.get("g4f", "not run"), ""]
    lines += [
        "## Method notes",
        "",
        "- Server: `bench/server.py`, asyncio in its own process, answers pre-built",
        "  HTTP/1.1 chunked bodies (one HTTP chunk per SSE event / NDJSON line, as Ollama's",
        "  Go server flushes per token) in 256 KiB writes; model `bench:N` streams N chunks.",
        "- Every client collects the text pieces and the harness checks the joined text",
        "  against the expected answer after every timed stream (gpt4free strips the",
        "  answer's leading space, so its check does too).",
        "- Hand-written loops read to the end of the body (no `break` at `[DONE]`) so their",
        "  connection goes back to the pool, as the library's does.",
        "- This library loads aiohttp/orjson on its first request; its clients import them",
        "  before timing, as the other clients' set-up does (import cost is measured apart).",
        "- Profiling helpers (in bench/tools, not part of the run or of CI):",
        "  `python -m bench.tools.profile --client lib-sse --tool pyinstrument|cprofile|none`",
        "  (wrap `none` in `py-spy record -f raw`, then `python -m bench.tools.stacks FILE`),",
        "  and `python -m bench.tools.decoders` (json vs orjson vs msgspec on these chunks).",
        "",
    ]
    return "\n".join(lines)
