#!/usr/bin/env python3
"""Executes the notebooks against a fresh `mosaico demo`; what CI runs.

    python notebooks/run.py                      # every notebooks/*.ipynb
    python notebooks/run.py piano_di_zona        # some of them, by name
    python notebooks/run.py --persons 50000 --out /tmp/executed

Starts `mosaico demo` (MOSAICO_BIN, default target/debug/mosaico) on a free port with its
own data folder under a temporary directory, waits for /healthz, then runs each notebook
in a python3 kernel (nbclient) with MOSAICO_URL and MOSAICO_WAREHOUSE pointing at that
demo. The first failing cell stops the run with the notebook, the cell's number and its
first line, and the error. The server is stopped and the folder removed in every case.
Needs the packages of notebooks/requirements.txt.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(server: subprocess.Popen, url: str, seconds: float) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if server.poll() is not None:
            raise SystemExit(f"mosaico demo exited with {server.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def execute(path: Path, out: Path | None, timeout: int) -> str | None:
    """Runs one notebook cell by cell; the failure as text, or None."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    failure = None
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, index)
            except (CellExecutionError, CellTimeoutError) as e:
                first = next((l for l in cell.source.splitlines() if l.strip()), "")
                number = sum(1 for c in nb.cells[: index + 1] if c.cell_type == "code")
                detail = f"{e.ename}: {e.evalue}" if isinstance(e, CellExecutionError) else str(e).splitlines()[0]
                failure = f"{path.name}: code cell {number} (cell {index + 1} of {len(nb.cells)}, `{first}`) failed\n  {detail}"
                if isinstance(e, CellExecutionError):
                    tb = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
                    if tb:
                        failure += "\n" + _strip_ansi("\n".join(tb[0].get("traceback", [])[-6:]))
                break
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out / path.name)
    return failure


def _strip_ansi(text: str) -> str:
    import re
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="names (without .ipynb) to run; default all")
    ap.add_argument("--persons", type=int, default=20_000, help="synthetic residents of the demo (20000)")
    ap.add_argument("--out", type=Path, help="also write the executed notebooks here")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per cell (300)")
    args = ap.parse_args()

    names = args.notebooks or sorted(p.stem for p in HERE.glob("*.ipynb"))
    paths = [HERE / f"{n.removesuffix('.ipynb')}.ipynb" for n in names]
    for p in paths:
        if not p.exists():
            raise SystemExit(f"no notebook {p.relative_to(ROOT)}")

    binary = Path(os.environ.get("MOSAICO_BIN", ROOT / "target" / "debug" / "mosaico"))
    if not binary.exists():
        raise SystemExit(f"{binary}: no mosaico binary; build it (cargo build) or set MOSAICO_BIN")

    started = time.monotonic()
    data_dir = Path(tempfile.mkdtemp(prefix="mosaico-notebooks-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = data_dir / "demo.log"
    env = {**os.environ, "MOSAICO_DATA_DIR": str(data_dir / "data"), "MOSAICO_LOG": "warn"}
    env.pop("MOSAICO_WAREHOUSE", None)  # the demo's own warehouse, under its data folder
    server = None
    failures = []
    try:
        with open(log_path, "w") as log:
            server = subprocess.Popen([str(binary), "demo", "--port", str(port), "--persons", str(args.persons)],
                                      cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            wait_for(server, f"{base}/healthz", 300)
        except SystemExit:
            sys.stderr.write(log_path.read_text()[-4000:])
            raise
        print(f"mosaico demo ({args.persons:,} persons) at {base} in {time.monotonic() - started:.1f} s", flush=True)

        os.environ["MOSAICO_URL"] = base
        os.environ["MOSAICO_WAREHOUSE"] = str(data_dir / "data" / "warehouse")
        for path in paths:
            t0 = time.monotonic()
            failure = execute(path, args.out, args.timeout)
            took = time.monotonic() - t0
            if failure:
                failures.append(failure)
                print(f"FAIL {path.name} ({took:.1f} s)\n{failure}", flush=True)
            else:
                print(f"ok   {path.name} ({took:.1f} s)", flush=True)
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(data_dir, ignore_errors=True)

    total = time.monotonic() - started
    if failures:
        print(f"\n{len(failures)} of {len(paths)} notebooks failed ({total:.1f} s):", file=sys.stderr)
        for f in failures:
            print(f"  {f.splitlines()[0]}", file=sys.stderr)
        return 1
    print(f"{len(paths)} notebooks passed in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
