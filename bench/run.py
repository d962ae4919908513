"""The benchmark suite in one command: ``python -m bench`` (full) or ``python -m bench --smoke``.

Full mode writes ``BENCHMARKS.md`` at the repo root and ``bench/results/``
(plots and ``results.json``). Smoke mode runs every code path with tiny sizes
in seconds and writes into a temporary folder unless ``--out`` is given. Both
modes check correctness, never timings: the exit status is 1 when a client
(other than the optional gpt4free) cannot read the exact answer, a concurrent
run has errors, or a second library request opens a new connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import (
    backend,
    concurrency,
    g4f_client,
    imports,
    inference,
    ollama_backend,
    report,
    servers,
    streams,
    worst,
)
from bench.clients import Client
from bench.common import REPO, ServerProcess, machine_info
from bench.sdk_clients import ALL_CLIENTS


@dataclass
class Config:
    chunks: int = 20000
    rounds: int = 15
    paced_chunks: int = 500
    paced_us: int = 1000
    paced_rounds: int = 5
    ttfc_rounds: int = 20
    ttfc_chunks: int = 8
    import_runs: int = 30
    conc_streams: int = 500
    conc_chunks: int = 200
    conc_rounds: int = 3
    backend_tokens: int = 256
    backend_rounds: int = 8
    worst_fragments: int = 100_000
    worst_rounds: int = 5
    embed_texts: int = 10_000
    inference_rounds: int = 7
    ollama_tokens: int = 128  # Ollama has no ignore_eos: a long-story prompt, cut here
    ollama_rounds: int = 6
    servers_tokens: int = 50
    servers_pace_us: int = 5000
    servers_slots: int = 2
    servers_workers: int = 6
    servers_calls: int = 36
    servers_rounds: int = 7
    servers_dead_calls: int = 200
    servers_spread_calls: int = 1000
    command: str = "bash scripts/bench.sh"
    smoke_command: str = "bash scripts/bench.sh --smoke"


SMOKE = Config(
    chunks=200,
    rounds=2,
    paced_chunks=20,
    paced_rounds=1,
    ttfc_rounds=2,
    import_runs=2,
    conc_streams=20,
    conc_chunks=20,
    conc_rounds=1,
    backend_tokens=16,
    backend_rounds=1,
    worst_fragments=2000,
    worst_rounds=1,
    embed_texts=300,
    inference_rounds=1,
    ollama_tokens=16,
    ollama_rounds=1,
    servers_tokens=20,
    servers_pace_us=2000,
    servers_calls=12,
    servers_rounds=1,
    servers_dead_calls=20,
    servers_spread_calls=60,
)


async def _stream_parts(
    server: ServerProcess, cfg: Config, use_g4f: bool, res: dict[str, Any]
) -> None:
    clients: list[Client] = [kind(server.base) for kind in ALL_CLIENTS]
    if use_g4f:
        clients.append(g4f_client.G4FClient(server.base))
    print(f"opening {len(clients)} clients")
    ready = await streams.open_all(clients, cfg.chunks)
    try:
        print(f"per-chunk cost: {cfg.chunks} chunks x {cfg.rounds} rounds")
        res["per_chunk"] = await streams.per_chunk(ready, server, cfg.chunks, cfg.rounds)
        print(f"one chunk per read: {cfg.paced_chunks} chunks {cfg.paced_us} µs apart")
        res["paced"] = await streams.per_chunk(
            ready, server, cfg.paced_chunks, cfg.paced_rounds, cfg.paced_us
        )
        print(f"time to first chunk: {cfg.ttfc_rounds} rounds")
        res["first_chunk"] = await streams.first_chunk(
            ready, server, cfg.ttfc_chunks, cfg.ttfc_rounds
        )
        print("connection reuse")
        res["reuse"] = await streams.connection_reuse(server)
    finally:
        for client in ready:
            try:
                await client.close()
            except Exception as exc:
                print(f"  ! closing {client.label}: {exc!r}")
    res["unavailable"] = {c.label: c.reason for c in clients if not c.available}
    for client in clients:
        if isinstance(client, g4f_client.G4FClient) and client.version:
            res["machine"]["g4f"] = client.version + f" (in {g4f_client.VENV})"


def _load() -> str:
    """1-minute load average: other work on this machine skews wall times."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


SECTIONS = (
    "concurrency", "streams", "imports", "backend", "worst", "inference", "ollama", "servers",
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds not minutes")
    parser.add_argument("--out", type=Path, help="folder for BENCHMARKS.md and bench/results/")
    parser.add_argument("--no-g4f", action="store_true", help="leave gpt4free out")
    parser.add_argument("--no-backend", action="store_true", help="leave llama.cpp out")
    parser.add_argument("--no-ollama", action="store_true", help="leave the real Ollama out")
    parser.add_argument("--chunks", type=int, help="chunks per stream in the per-chunk part")
    parser.add_argument("--rounds", type=int, help="rounds of the per-chunk part")
    parser.add_argument(
        "--only",
        help=f"comma-separated sections to (re-)run, merged into the previous results.json: "
        f"{', '.join(SECTIONS)}; '' just re-renders the report",
    )
    args = parser.parse_args(argv)

    cfg = Config(**asdict(SMOKE)) if args.smoke else Config()
    if args.chunks:
        cfg.chunks = args.chunks
    if args.rounds:
        cfg.rounds = args.rounds
    out = args.out
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="bench-smoke-")) if args.smoke else REPO
    results = out / report.RESULTS_DIR / "results.json"
    wanted = list(SECTIONS) if args.only is None else [x for x in args.only.split(",") if x]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    res: dict[str, Any] = {}
    if args.only is not None and results.exists():
        res = json.loads(results.read_text("utf-8"))
    res.update(config=asdict(cfg), smoke=args.smoke)
    res["machine"] = {**res.get("machine", {}), **machine_info()}
    res.setdefault("sections", {})
    started = time.perf_counter()

    def save() -> None:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps(res, indent=1) + "\n", "utf-8")

    use_g4f = False
    if "streams" in wanted or "imports" in wanted:
        if args.no_g4f:
            res["g4f"] = "left out (--no-g4f)."
        else:
            why = g4f_client.ensure_venv(install=not args.smoke)
            use_g4f = not why
            res["g4f"] = (
                f"Measured from its own venv ({g4f_client.VENV}), provider `g4f.Provider.Custom`."
                if use_g4f
                else f"Not installable/importable here: {why}"
            )
        print(f"g4f: {res['g4f']}")

    def run_section(name: str, work: Any) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {name}", flush=True)
        load, date = _load(), time.strftime("%H:%M UTC", time.gmtime())
        work()
        res["sections"][name] = {"at": date, "load": f"{load} → {_load()}"}
        save()

    def streams_part(server: ServerProcess) -> None:
        asyncio.run(_stream_parts(server, cfg, use_g4f, res))

    def concurrency_part(server: ServerProcess) -> None:
        res["concurrency"] = concurrency.run(
            server, cfg.conc_streams, cfg.conc_chunks, cfg.conc_rounds
        )

    if {"concurrency", "streams", "inference"} & set(wanted):
        with ServerProcess() as server:
            print(f"server pid {server.proc.pid} at {server.base}")
            # Concurrency first, while this process is still small: a child's ru_maxrss
            # starts at the RSS its parent had when it forked (see bench.concurrency).
            if "concurrency" in wanted:
                run_section("concurrency", lambda: concurrency_part(server))
            if "streams" in wanted:
                run_section("streams", lambda: streams_part(server))
            if "inference" in wanted:
                run_section(
                    "inference",
                    lambda: res.update(
                        inference=inference.run(
                            server.base, cfg.embed_texts, cfg.inference_rounds, cfg.chunks
                        )
                    ),
                )
    if "imports" in wanted:
        g4f_python = str(g4f_client.venv_python()) if use_g4f else None
        run_section("imports", lambda: res.update(imports=imports.run(cfg.import_runs, g4f_python)))
    if "servers" in wanted:
        sizes = asdict(cfg).items()
        several = {k.removeprefix("servers_"): v for k, v in sizes if k.startswith("servers_")}
        run_section("servers", lambda: res.update(servers=servers.run(**several)))
    if "worst" in wanted:
        run_section(
            "worst", lambda: res.update(worst=worst.run(cfg.worst_fragments, cfg.worst_rounds))
        )
    if "backend" in wanted:
        if args.no_backend:
            res["backend"] = {"skipped": "left out (--no-backend)"}
        else:
            run_section(
                "backend",
                lambda: res.update(
                    backend=backend.run(
                        cfg.backend_tokens,
                        cfg.backend_rounds,
                        allow_provision=not args.smoke,
                        timeout=60.0 if args.smoke else 1200.0,
                        wait_for_others=0.0 if args.smoke else 600.0,
                    )
                ),
            )
            if "skipped" in res["backend"]:
                print(f"  backend skipped: {res['backend']['skipped']}")
    if "ollama" in wanted:
        if args.no_ollama:
            res["ollama"] = {"skipped": "left out (--no-ollama)"}
        else:
            run_section(
                "ollama",
                lambda: res.update(
                    ollama=ollama_backend.run(
                        cfg.ollama_tokens,
                        cfg.ollama_rounds,
                        allow_provision=not args.smoke,
                        timeout=60.0 if args.smoke else 1200.0,
                    )
                ),
            )
            if "skipped" in res["ollama"]:
                print(f"  ollama skipped: {res['ollama']['skipped']}")
    save()
    images = report.plot(res, out)
    (out / "BENCHMARKS.md").write_text(report.markdown(res, images), "utf-8")
    print(f"wrote {out / 'BENCHMARKS.md'} in {time.perf_counter() - started:.0f} s")
    if args.smoke:
        print(
            "  (smoke sizes: the figures below only show that every benchmark runs;"
            " targets are judged by the full run in BENCHMARKS.md)"
        )
    for target, measured, met in report.targets(res):
        status = "n/a" if met is None else ("met" if met else "NOT met")
        print(f"  {status:8} {target}: {measured}")
    broken = report.problems(res)
    for problem in broken:
        print(f"FAILED: {problem}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
