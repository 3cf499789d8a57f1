"""`make bench`: one table of what a letter costs here, also written as JSON to var/bench.json.

1. render and sign in one process on one core (the service's own code); 2. the WeasyPrint + qrcode + pyHanko
pipeline on the same letter; 3. end to end through the HTTP API on Redis + PostgreSQL with two, then four
worker processes; 4. intake under gunicorn with wrk; 5. a worker process's peak resident memory; 6. a regency's
busiest hour on two API hosts and three worker hosts (PostgreSQL, Redis, SeaweedFS), and on paper a province and
the nation.
On a shared machine the figures are noisy: compare ratios taken in one run, not raw numbers across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from shared.config import Settings

OUTPUT = Path("var/bench.json")


# The libraries whose releases move parts 1 and 2 (ours, and the peer pipeline's): a figure that changed between two
# runs may be a new release rather than the machine or the code.
LIBRARIES = ("ReportLab", "pyHanko", "WeasyPrint", "qrcode")


def machine() -> dict[str, Any]:
    """lscpu's model name, the cores this process may use, Python, the kernel and the LIBRARIES' versions."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")),
                 platform.processor())
    return {"cpu": model, "cores": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}", "libraries": _versions()}


def _versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # the bench extra not installed: part 2 cannot run either
            pass
    return versions


def rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The table's rows: part, figure, value (as printed)."""
    out: list[tuple[str, str, str]] = []
    for key, label in (("1_render_sign", "1 suratdesa, one core"), ("2_peer", "2 WeasyPrint+qrcode+pyHanko")):
        if key in results:
            r = results[key]
            out.append((label, "draft render (layout), CPU ms", f"{r['draft_ms']:.1f}"))
            if "final_from_draft_ms" in r:  # ours: the final is the draft with its slots filled
                out.append((label, "final: the draft's slots filled, CPU ms", f"{r['final_from_draft_ms']:.1f}"))
            else:
                out.append((label, "final render: layout, CPU ms", f"{r['final_layout_ms']:.1f}"))
            out += [(label, "final: QR code, CPU ms", f"{r['final_qr_ms']:.1f}"),
                    (label, "signature, CPU ms", f"{r['signature_ms']:.1f}"),
                    (label, "draft + final + signature, CPU ms", f"{r['total_ms']:.1f}"),
                    (label, "letters/s", f"{r['letters_per_s']:.1f}")]
            if "final_laid_out_anew_ms" in r:
                out.append((label, "final laid out anew instead (a draft of another day), CPU ms",
                            f"{r['final_laid_out_anew_ms']:.1f}"))
    if "1_render_sign" in results and "2_peer" in results:
        ratio = results["1_render_sign"]["letters_per_s"] / results["2_peer"]["letters_per_s"]
        out.append(("2 WeasyPrint+qrcode+pyHanko", "suratdesa / peer, letters/s on one core", f"{ratio:.1f}x"))
    for run, r in results.get("3_end_to_end", {}).items():
        label = f"3 end to end, {run}"
        out += [(label, f"{r['letters']} letters: issued letters/s", f"{r['letters_per_s']:.1f}"),
                (label, "submit -> awaiting_approval p50 / p95, ms",
                 f"{r['submit_to_awaiting_p50_ms']:.0f} / {r['submit_to_awaiting_p95_ms']:.0f}"),
                (label, "approve -> issued p50 / p95, ms",
                 f"{r['approve_to_issued_p50_ms']:.0f} / {r['approve_to_issued_p95_ms']:.0f}")]
        if "cpu_ms_per_letter" in r:
            cpu = r["cpu_ms_per_letter"]
            out.append((label, "CPU per letter, ms: worker / API / PostgreSQL / bench client",
                        f"{cpu['worker']:.1f} / {cpu['api']:.1f} / {cpu['postgres']:.1f} / {cpu['client']:.1f}"))
        if "2_peer" in results and "paced" not in run:
            ratio = r["letters_per_s"] / results["2_peer"]["letters_per_s"]
            out.append((label, "issued letters/s / peer's on one core", f"{ratio:.1f}x"))
    if "4_intake" in results:
        r, label = results["4_intake"], "4 intake, POST /api/v1/letters"
        out += [(label, f"wrk, {r['connections']} connections, {r['seconds']} s: requests/s",
                 f"{r['requests_per_s']:.0f}"),
                (label, "p50 / p99, ms", f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f}"),
                (label, "API processes' CPU per request, ms", f"{r['api_cpu_ms_per_request']:.2f}"),
                (label, f"answers other than 202 (of {r['requests']})", str(r["non_202"]))]
    if "5_worker_peak_rss_mb" in results:
        out.append(("5 worker process", "peak resident memory (VmHWM), MB", f"{results['5_worker_peak_rss_mb']:.0f}"))
    if "6_busiest_hour" in results:
        out += regency_rows(results["6_busiest_hour"])
    return out


def regency_rows(r: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Part 6: the regency's hour as measured, then the province and the nation on paper."""
    label = (f"6 busiest hour, {r['villages']} villages, 1 h scaled to {r['scaled_hour_s']:.0f} s, "
             f"{r['worker_processes']} worker hosts")
    out = [(label, f"{r['letters']} letters issued, the last within {r['kept_up_within_s']:g} s of the last submitted",
            f"{'yes' if r['kept_up'] else 'NO'} ({r['issued']} issued; the last submitted after "
            f"{r['last_submitted_after_s']:.1f} s, the last issued after {r['last_issued_after_s']:.1f} s)"),
           (label, "opening burst, letters/s (scaled)", f"{r['burst_letters_per_s']:.1f}"),
           (label, "approve -> issued p50 / p95, ms",
            f"{r['approve_to_issued_p50_ms']:.0f} / {r['approve_to_issued_p95_ms']:.0f}"),
           (label, "per letter: worker CPU / API CPU, ms",
            f"{r['worker_cpu_s_per_letter'] * 1000:.1f} / {r['api_cpu_s_per_letter'] * 1000:.1f}"),
           (label, "per letter: PostgreSQL rows written / transactions",
            f"{r['rows_written_per_letter']:.1f} / {r['commits_per_letter']:.1f}"),
           (label, "per letter: object store, kB (draft + issued)", f"{r['stored_bytes_per_letter'] / 1000:.1f}")]
    for area, p in r["on_paper"].items():
        out.append((f"6 on paper: {area} ({p['villages']} villages)",
                    f"at {p['peak_letters_per_s']:.1f} letters/s: worker cores / API cores / PostgreSQL rows/s",
                    f"{p['worker_cores']:.1f} / {p['api_cores']:.1f} / {p['postgres_rows_written_per_s']:.0f}"))
        out.append((f"6 on paper: {area} ({p['villages']} villages)",
                    f"{p['letters_per_year'] / 1e6:.1f} M letters/year: object store, TB/year",
                    f"{p['object_store_tb_per_year']:.2f}"))
    return out


def table(results: dict[str, Any]) -> str:
    """The results as a Markdown table under a line naming the machine."""
    m = results["machine"]
    libraries = "".join(f", {name} {version}" for name, version in m.get("libraries", {}).items())
    lines = [f"`make bench` on {m['cores']} cores, {m['cpu']}, Python {m['python']}{libraries}, {results['date']}", "",
             "| part | figure | value |", "|---|---|---|"]
    lines += [f"| {part} | {figure} | {value} |" for part, figure, value in rows(results)]
    return "\n".join(lines)


LETTER_ROUNDS = 4  # parts 1 and 2 take turns this many times: a machine whose speed drifts slows both alike


def letter_parts(results: dict[str, Any], parts: set[int], repeat: int) -> None:
    """Parts 1 and 2, in this process, in turns; each figure the median of its rounds' medians.

    This machine's speed moves by a third or more from one minute to the next: measured one after the other, the
    two parts' ratio moved with it (32x and 24x in two runs of the same code a quarter of an hour apart)."""
    from benchmarks.letters import render_and_sign, sample_letter

    rounds: dict[str, list[dict[str, float]]] = {"1_render_sign": [], "2_peer": []}
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(suratdesa_home=Path(home))
        for _ in range(LETTER_ROUNDS):
            if 1 in parts:
                rounds["1_render_sign"].append(render_and_sign(settings, max(5, repeat // LETTER_ROUNDS)))
            if 2 in parts:
                from benchmarks.peer import peer_pipeline

                rounds["2_peer"].append(peer_pipeline(sample_letter(settings.keys_dir, settings.templates_dir),
                                                      max(3, repeat // (4 * LETTER_ROUNDS))))
    for part, measured in rounds.items():
        if measured:
            median = {name: statistics.median(each[name] for each in measured) for name in measured[0]}
            # the total is its parts' sum, as each round's was
            parts_of_total = [name for name in median if name.endswith("_ms") and name not in (
                "total_ms", "final_laid_out_anew_ms")]
            median["total_ms"] = sum(median[name] for name in parts_of_total)
            median["letters_per_s"] = 1000 / median["total_ms"]
            results[part] = median


def service_parts(results: dict[str, Any], parts: set[int], letters: int, seconds: int) -> None:
    """Parts 3, 4 and 5, on one stack of real processes."""
    from benchmarks.intake import intake
    from benchmarks.service import (
        cpu_ms_per_letter,
        cpu_split,
        example_body,
        issue_batch,
        peak_rss_mb,
        services_stack,
        start_workers,
    )

    with tempfile.TemporaryDirectory() as home, services_stack(Path(home) / "stack") as stack:
        body, peaks = example_body(stack), []
        if parts & {3, 5}:
            results["3_end_to_end"] = {}
            for processes in (2, 4):
                start_workers(stack, processes)
                issue_batch(stack, body, min(letters, 16))  # warm-up: every pool process imports and connects
                before = cpu_split(stack)
                batch: dict[str, Any] = {**issue_batch(stack, body, letters)}
                batch["cpu_ms_per_letter"] = cpu_ms_per_letter(before, cpu_split(stack), letters)
                results["3_end_to_end"][f"{processes} worker processes"] = batch
                peaks.append(peak_rss_mb(stack))
            # the latency target is for half the rate reached: letters arrive paced, as from many posts
            rate = results["3_end_to_end"]["4 worker processes"]["letters_per_s"] / 2
            paced = issue_batch(stack, body, max(10, min(letters, round(rate * 20))), rate=rate)
            results["3_end_to_end"]["4 worker processes, paced at half that rate"] = paced
            peaks.append(peak_rss_mb(stack))
            results["5_worker_peak_rss_mb"] = max(peaks)
        if 4 in parts:
            stack.stop("worker")  # the API alone: its drafts wait in Redis instead of taking the cores
            results["4_intake"] = intake(stack, body, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="1,2,3,4,5,6", help="which parts to run, e.g. 1,2")
    parser.add_argument("--letters", type=int, default=200, help="letters per end-to-end batch (part 3)")
    parser.add_argument("--seconds", type=int, default=15, help="length of the wrk run (part 4)")
    parser.add_argument("--repeat", type=int, default=40, help="renders and signatures timed (parts 1, 2)")
    parser.add_argument("--villages", type=int, default=381, help="villages of the regency (part 6)")
    parser.add_argument("--per-village", type=int, default=10, help="letters per village in the hour (part 6)")
    parser.add_argument("--scale", type=float, default=20, help="the hour runs this many times faster (part 6)")
    parser.add_argument("--worker-hosts", type=int, default=3, help="worker hosts, one process each (part 6)")
    args = parser.parse_args()
    parts = {int(p) for p in args.parts.split(",")}
    results: dict[str, Any] = {"machine": machine(), "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"}
    try:
        letter_parts(results, parts, args.repeat)
        if parts & {3, 4, 5}:
            service_parts(results, parts, args.letters, args.seconds)
        if 6 in parts:
            from benchmarks.regency import busiest_hour

            results["6_busiest_hour"] = busiest_hour(villages=args.villages, per_village=args.per_village,
                                                     scale=args.scale, workers=args.worker_hosts)
    finally:  # a part that fails (its traceback follows) still leaves the table of those that ran
        results["table"] = table(results)
        OUTPUT.parent.mkdir(parents=True, exist_ok=True)
        OUTPUT.write_text(json.dumps(results, indent=2) + "\n")
        print(results["table"])
        print(f"\n(written to {OUTPUT})")


if __name__ == "__main__":
    main()
