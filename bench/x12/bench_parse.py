"""X12 benchmark: claimflow_x12 vs pyx12, x12sdk, openx12 and linuxforhealth-x12, side by side in one run.

    uv run python bench/x12/bench_parse.py [--claims 10000] [--other-python /tmp/x12bench/bin/python]
    uv run python bench/x12/bench_parse.py --only claimflow     # claimflow_x12 only (parse, write, streaming)

Each measurement runs in its own subprocess, so peak memory is that process's max RSS (minus its RSS after
imports, shown as "delta"). openx12 and linuxforhealth-x12 need pydantic v1-compatible installs that must not
touch the workspace; they are looked for in a separate interpreter (``--other-python`` or $X12BENCH_PYTHON, e.g.
``uv venv /tmp/x12bench && VIRTUAL_ENV=/tmp/x12bench uv pip install openx12 linuxforhealth-x12 'pydantic<2'``)
and skipped when missing. Claims/second counts every claim the parser returned, which is checked against the file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

HERE = Path(__file__).resolve().parent


def _rss_kb() -> int:
    """Peak resident memory of this process in KiB.

    /proc's VmHWM belongs to this program image only; ru_maxrss would include the parent's peak inherited
    through fork, which here is the generator holding the test files.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ------------------------------------------------------------------------------------------------ workers
# Each worker parses one file and returns the number of claims it found plus the parsed models, which are kept
# alive until the clock has stopped so that no parser is charged for freeing its previous result.


def _claimflow(path: str) -> tuple[int, object]:
    from claimflow_x12 import Claim837P, Remittance835, parse
    from claimflow_x12.guides.claim_837p import iter_claims

    with open(path, "rb") as stream:
        result = parse(stream)
    assert not result.errors, result.errors[:3]
    count = 0
    for transaction in result.transactions:
        if isinstance(transaction, Remittance835):
            count += sum(len(h.claims) for h in transaction.header_numbers)
        elif isinstance(transaction, Claim837P):
            count += sum(1 for _ in iter_claims(transaction))
    return count, result


def _claimflow_stream(path: str) -> tuple[int, object]:
    from claimflow_x12 import Remittance835, iter_transactions

    count = 0
    with open(path, "rb") as stream:
        for parsed in iter_transactions(stream):
            assert not parsed.errors
            assert isinstance(parsed.transaction, Remittance835)
            count += sum(len(h.claims) for h in parsed.transaction.header_numbers)
    return count, None


def _pyx12(path: str) -> tuple[int, object]:
    import logging

    import pyx12.error_handler
    import pyx12.params
    import pyx12.x12context

    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    loop = "2100" if "835" in Path(path).name else "2300"
    with open(path) as stream:
        reader = pyx12.x12context.X12ContextReader(pyx12.params.params(), pyx12.error_handler.errh_null(), stream)
        nodes = [node for node in reader.iter_segments(loop) if node.id == loop]
    return len(nodes), nodes


def _x12sdk(path: str) -> tuple[int, object]:
    from x12sdk.io import X12ModelReader

    with X12ModelReader(path) as reader:
        models = list(reader.models())
    claims = 0
    for model in models:
        claims += len(list(cast(Any, model).claims()))  # x12sdk types the models as generic segment groups
    return claims, models


def _openx12(path: str) -> tuple[int, object]:
    from openx12 import x835, x837p  # type: ignore[import-not-found]

    content = Path(path).read_text()
    module = x835 if "835" in Path(path).name else x837p
    parsed = module.parse(content)
    return len(parsed.claims), parsed


def _linuxforhealth(path: str) -> tuple[int, object]:
    from linuxforhealth.x12.io import X12ModelReader  # type: ignore[import-not-found]

    count = 0
    with X12ModelReader(path) as reader:
        models = list(reader.models())
        for model in models:
            if "835" in Path(path).name:
                count += sum(len(header.loop_2100) for header in model.loop_2000 or [])
            else:
                for provider in model.loop_2000a:
                    for subscriber in provider.loop_2000b:
                        count += len(subscriber.loop_2300 or [])
                        for patient in subscriber.loop_2000c or []:
                            count += len(patient.loop_2300 or [])
    return count, models


PARSERS: dict[str, Callable[[str], tuple[int, object]]] = {
    "claimflow_x12": _claimflow,
    "claimflow_x12 (iter_transactions)": _claimflow_stream,
    "pyx12 4.0 (X12ContextReader)": _pyx12,
    "x12sdk 2.2": _x12sdk,
    "openx12 0.2.1": _openx12,
    "linuxforhealth-x12 0.57": _linuxforhealth,
}
OTHER_VENV = {"openx12 0.2.1", "linuxforhealth-x12 0.57"}


def run_worker(name: str, path: str, repeat: int) -> dict[str, object]:
    """Run one measurement in this process and return its numbers."""
    if name == "claimflow_x12 write 837P":
        from generate import build_837p_model

        from claimflow_x12 import Envelope, write_interchange

        model = build_837p_model(int(path))
        envelope = Envelope(sender_id="CLAIMFLOW", receiver_id="CLEARHOUSE", interchange_control_number=1,
                            group_control_number=1)  # fmt: skip
        baseline = _rss_kb()
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            text = write_interchange(envelope, [model])
            best = min(best, time.perf_counter() - start)
        return {"seconds": best, "claims": int(path), "bytes": len(text), "rss_kb": _rss_kb(), "base_kb": baseline}
    worker = PARSERS[name]
    if name.startswith("claimflow"):
        import claimflow_x12.guides  # noqa: F401 - imports (and codec compilation) are not part of the timing
    baseline = _rss_kb()
    best = float("inf")
    claims = 0
    for _ in range(repeat):
        start = time.perf_counter()
        claims, models = worker(path)
        best = min(best, time.perf_counter() - start)
        del models
    return {"seconds": best, "claims": claims, "rss_kb": _rss_kb(), "base_kb": baseline}


# ------------------------------------------------------------------------------------------------ driver


def measure(python: str, name: str, path: str, repeat: int, timeout: float) -> dict[str, object]:
    """Run a worker in a fresh interpreter."""
    command = [python, str(Path(__file__).resolve()), "--worker", name, path, "--repeat", str(repeat)]
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f}s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"error": last[:120]}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _row(name: str, file_label: str, expected: int, result: dict[str, object], reference: float | None) -> str:
    if "error" in result:
        return f"| {name} | {file_label} | — | — | — | — | skipped: {result['error']} |"
    seconds = float(str(result["seconds"]))
    claims = int(str(result["claims"]))
    rate = claims / seconds
    ratio = f"{reference / rate:.1f}x slower" if reference and rate < reference else "1.0x"
    peak = int(str(result["rss_kb"])) / 1024
    delta = (int(str(result["rss_kb"])) - int(str(result["base_kb"]))) / 1024
    note = "" if claims == expected else f"found {claims} of {expected} claims"
    return f"| {name} | {file_label} | {seconds:.2f} | {rate:,.0f} | {ratio} | {peak:.0f} / {delta:.0f} | {note} |"


def _selected(name: str, only: list[str], skip: list[str]) -> bool:
    return (not only or any(name.startswith(p) for p in only)) and not any(name.startswith(p) for p in skip)


def main() -> None:
    """Generate the files, run every parser on them and print a markdown report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--other-python", default=os.environ.get("X12BENCH_PYTHON", "/tmp/x12bench/bin/python"))  # noqa: S108
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--skip", action="append", default=[], help="parser name prefix to skip")
    parser.add_argument("--only", action="append", default=[], help="run only parsers with this name prefix")
    parser.add_argument("--worker", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.worker[0], args.worker[1], args.repeat)))
        return

    from generate import build_835

    from claimflow_x12 import Envelope, write_interchange

    n = args.claims
    workdir = Path(tempfile.mkdtemp(prefix="x12bench-"))
    files = {
        "835": workdir / "835_single_set.x12",
        "837P": workdir / "837p_single_set.x12",
        "835 x10 per set": workdir / "835_many_sets.x12",
        "835 x10 per set, 10x file": workdir / "835_many_sets_10x.x12",
    }
    files["835"].write_text(build_835(n))
    from generate import build_837p_model

    envelope = Envelope(sender_id="CLAIMFLOW", receiver_id="CLEARHOUSE", interchange_control_number=1,
                        group_control_number=1)  # fmt: skip
    files["837P"].write_text(write_interchange(envelope, [build_837p_model(n)]))
    files["835 x10 per set"].write_text(build_835(n, claims_per_transaction=10))
    files["835 x10 per set, 10x file"].write_text(build_835(n * 10, claims_per_transaction=10))
    other = args.other_python if Path(args.other_python).exists() else ""

    print(f"# X12 benchmark — {n:,} claims, {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}\n")
    for label in ("835", "837P"):
        size = files[label].stat().st_size / 1e6
        segments = files[label].read_text().count("~")
        print(f"- {label}: {size:.1f} MB, {segments:,} segments ({segments / n:.1f} per claim)")
    print()
    header = "| parser | file | seconds | claims/s | vs claimflow_x12 | peak RSS / delta MB | note |"
    print(header)
    print("|---|---|---|---|---|---|---|")
    for label in ("835", "837P"):
        reference: float | None = None
        for name in PARSERS:
            if "iter_transactions" in name or not _selected(name, args.only, args.skip):
                continue
            python = other if name in OTHER_VENV else sys.executable
            if not python:
                result: dict[str, object] = {"error": "interpreter with this parser not found"}
            else:
                repeat = 3 if name.startswith("claimflow") else 1
                result = measure(python, name, str(files[label]), repeat, args.timeout)
            if name == "claimflow_x12" and "error" not in result:
                reference = int(str(result["claims"])) / float(str(result["seconds"]))
            print(_row(name, label, n, result, reference), flush=True)
    if _selected("claimflow_x12 write 837P", args.only, args.skip):
        write = measure(sys.executable, "claimflow_x12 write 837P", str(n), 3, args.timeout)
        print(_row("claimflow_x12 write 837P", "837P (write)", n, write, None))
    if not _selected("claimflow_x12 (iter_transactions)", args.only, args.skip):
        return
    print("\nStreaming (iter_transactions over a file stream; 835 split into sets of 10 claims):\n")
    print("| file | claims | seconds | claims/s | peak RSS / delta MB |")
    print("|---|---|---|---|---|")
    for label, claims in (("835 x10 per set", n), ("835 x10 per set, 10x file", n * 10)):
        result = measure(sys.executable, "claimflow_x12 (iter_transactions)", str(files[label]), 1, args.timeout)
        if "error" in result:
            print(f"| {label} | {claims} | — | — | {result['error']} |")
            continue
        seconds = float(str(result["seconds"]))
        peak = int(str(result["rss_kb"])) / 1024
        delta = (int(str(result["rss_kb"])) - int(str(result["base_kb"]))) / 1024
        print(
            f"| {label} | {result['claims']:,} | {seconds:.2f} | {claims / seconds:,.0f} | {peak:.0f} / {delta:.0f} |"
        )


if __name__ == "__main__":
    main()
