#!/usr/bin/env python3
"""Mosaico's benchmark suite: the datasets at three sizes, every workload beside its peer
tools on the same Parquet files, in one run, and BENCHMARKS.md written from the results.

  bench/bench.py                          S and M, every workload (about 25 minutes)
  bench/bench.py --sizes S,M,L            also L (10 M persons; about an hour more)
  bench/bench.py --sizes S --only api     one workload
  bench/bench.py --render                 rewrite BENCHMARKS.md from bench/results/suite.json

Datasets (the synthetic Milan of `mosaico samples generate`, seed 42, five intervention
rows per person, as `mosaico demo --persons N` makes them):
  S  100,000 persons (the demo's sample),  500 k interventions
  M  2,000,000 persons,                   10 M interventions
  L  10,000,000 persons (about Lombardy),  50 M interventions

Workloads, each with its peers:
  ingest     `mosaico ingest registry` (validate, pseudonymise, H3-tag, Delta) beside a plain
             CSV → Parquet with polars and with DuckDB
  groupby    three territorial group-bys in-process: Mosaico (DataFusion) beside DuckDB
             and polars, each answer checked against Mosaico's
  e2sfca     demand + E2SFCA per res-9 cell from a cold process, beside polars + h3-py +
             PySAL access; the two results compared cell by cell first
  mclp       MCLP over the dataset's res-9 demand cells (p = 10, 1 km) beside spopt + CBC
  pdz        the Piano di Zona report from the running server beside its core table in DuckDB
  search     the registry search of the case database (SQLite and PostgreSQL), p50/p99
  api        the dashboard's endpoints under a fixed load with wrk: p50/p99 at 50–400
             requests/s, and the server's memory

Needs: a release build (the script runs `cargo build --release`), hyperfine and wrk
(Debian packages), python3 with venv; the peers are installed from bench/requirements.txt
into data/bench/venv. Results are merged into bench/results/suite.json (so a run of one
size or workload keeps the others) and BENCHMARKS.md's generated section is rewritten.
"""
import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DATA = ROOT / "data" / "bench"
VENV = DATA / "venv"
RESULTS = BENCH / "results" / "suite.json"
DOC = ROOT / "BENCHMARKS.md"
BIN = ROOT / "target" / "release" / "mosaico"

SIZES = {"S": 100_000, "M": 2_000_000, "L": 10_000_000}
WORKLOADS = ["ingest", "groupby", "e2sfca", "mclp", "pdz", "search", "api"]
SEED = 42
YEAR = 2025
TARGET = "anziani_75"
KEY = "benchmark key, not a secret"
# The dashboard's endpoints: the planners' map and the managers' dashboard.
ENDPOINTS = {
    "cells": "/api/v1/territory/cells?res=9",
    "demand": f"/api/v1/territory/demand?target={TARGET}&level=nil",
    "accessibility": f"/api/v1/territory/accessibility?target={TARGET}",
    "gaps": f"/api/v1/territory/gaps?target={TARGET}&level=nil",
    "dashboard": f"/api/v1/dashboard?year={YEAR}",
}
RATES = [50, 100, 200, 400]


def log(*a):
    print(f"[{dt.datetime.now():%H:%M:%S}]", *a, file=sys.stderr, flush=True)


def run(cmd, env=None, capture=True, check=True, **kw):
    r = subprocess.run(cmd, env={**os.environ, **(env or {})}, text=True,
                       stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None, **kw)
    if check and r.returncode != 0:
        raise SystemExit(f"failed ({r.returncode}): {' '.join(map(str, cmd))}\n{r.stderr if capture else ''}")
    return r


def py(*args):
    """A peers.py command in the venv; its JSON answer."""
    out = run([str(VENV / "bin" / "python"), str(BENCH / "peers.py"), *map(str, args)]).stdout.strip()
    return json.loads(out.splitlines()[-1]) if out else None


def hyperfine(named, runs, prepare=None, warmup=1):
    """Times commands (name → shell command) with hyperfine; mean/stddev/min in seconds."""
    out = DATA / "hyperfine.json"
    cmd = ["hyperfine", "--style", "none", "--warmup", str(warmup), "--runs", str(runs), "--export-json", str(out)]
    if prepare:
        cmd += ["--prepare", prepare]
    for name, c in named.items():
        cmd += ["-n", name, c]
    run(cmd)
    return {r["command"]: {"mean_s": r["mean"], "stddev_s": r["stddev"], "min_s": r["min"], "runs": len(r["times"])}
            for r in json.load(open(out))["results"]}


def peak_rss_kib(cmd):
    """Peak resident memory of a command and its children, KiB."""
    r = run(["/usr/bin/time", "-f", "%M", "sh", "-c", cmd])
    return int(r.stderr.strip().splitlines()[-1])


def mosaico_repeat(wh, sql, runs, env=None):
    """`mosaico sql --repeat`: the engine's time in one session, without start-up."""
    r = run([str(BIN), "--warehouse", str(wh), "sql", "--repeat", str(runs), "--format", "csv", sql], env=env)
    m = re.search(r"min ([\d.]+) ms, median ([\d.]+) ms, max ([\d.]+) ms", r.stderr)
    if not m:
        raise SystemExit(f"no timings from mosaico sql --repeat:\n{r.stderr}")
    rows = [line.split(",") for line in r.stdout.strip().splitlines()[1:]]
    return rows, {"runs": runs, "min_ms": float(m[1]), "median_ms": float(m[2]), "max_ms": float(m[3])}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Results:
    """bench/results/suite.json: one record per (size, workload, figure), merged across runs."""

    def __init__(self):
        self.doc = json.load(open(RESULTS)) if RESULTS.exists() else {"records": {}, "datasets": {}}

    def put(self, size, workload, name, value, **extra):
        self.doc["records"][f"{size}/{workload}/{name}"] = {"value": value, **extra}
        self.save()

    def get(self, size, workload, name):
        return self.doc["records"].get(f"{size}/{workload}/{name}")

    def save(self):
        self.doc["machine"] = machine()
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        json.dump(self.doc, open(RESULTS, "w"), indent=1, sort_keys=True)


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next((int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    peers = {}
    if (VENV / "bin" / "python").exists():
        code = "import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in " \
               "['duckdb', 'polars', 'h3', 'access', 'spopt', 'pulp']}))"
        peers = json.loads(run([str(VENV / "bin" / "python"), "-c", code]).stdout)
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 2**20), "kernel": platform.release(),
            "mosaico": run([str(BIN), "--version"]).stdout.strip() if BIN.exists() else "?", "peers": peers}


# ---------------------------------------------------------------------------------------
# Datasets


def dataset(size, res):
    """Generates and loads the dataset of a size once; returns its folder."""
    persons = SIZES[size]
    d = DATA / size
    env = {"MOSAICO_DATA_DIR": str(d), "MOSAICO_LOG": "warn", "MOSAICO_PSEUDONYM_KEY": KEY}
    manifest = d / "sample" / "manifest.json"
    if not (manifest.exists() and json.load(open(manifest)).get("persons") == persons):
        log(f"{size}: generating {persons:,} persons")
        t = time.perf_counter()
        run([str(BIN), "samples", "generate", "--seed", str(SEED), "--persons", str(persons), "--out", str(d / "sample")],
            env=env)
        res.put(size, "dataset", "generate_s", time.perf_counter() - t, unit="s")
        shutil.rmtree(d / "warehouse", ignore_errors=True)
        (d / "loaded.json").unlink(missing_ok=True)
    if not (d / "loaded.json").exists():
        log(f"{size}: loading into the warehouse")
        shutil.rmtree(d / "warehouse", ignore_errors=True)
        t = time.perf_counter()
        run([str(BIN), "--warehouse", str(d / "warehouse"), "load", str(d / "sample")], env=env, cwd=ROOT)
        res.put(size, "dataset", "load_s", time.perf_counter() - t, unit="s")
        # `mosaico demo --persons N` finds this sample loaded and serves it as is.
        shutil.copy(manifest, d / "loaded.json")
    m = json.load(open(manifest))
    sizes = {t.name: sum(f.stat().st_size for f in t.rglob("*.parquet")) for t in (d / "warehouse").iterdir() if t.is_dir()}
    res.doc["datasets"][size] = {"persons": persons, "manifest": m, "warehouse_bytes": sizes}
    res.save()
    return d, env


# ---------------------------------------------------------------------------------------
# Workloads


def w_ingest(size, d, env, res):
    """The registry CSV into a fresh warehouse holding only the territory."""
    base, wh = d / "ingest-base", d / "ingest-wh"
    if not (base / "cells").exists():
        run([str(BIN), "--warehouse", str(base), "ingest", "territory", "data-samples/reference", "--quiet"],
            env=env, cwd=ROOT)
    csv = d / "sample" / "registry.csv"
    vpy = VENV / "bin" / "python"
    cmds = {
        "mosaico": f"{BIN} --warehouse {wh} ingest registry {csv} --quiet",
        "polars": f"{vpy} {BENCH / 'peers.py'} csv2parquet polars {csv} {d / 'polars.parquet'}",
        "duckdb": f"{vpy} {BENCH / 'peers.py'} csv2parquet duckdb {csv} {d / 'duckdb.parquet'}",
    }
    runs = 5 if size == "S" else 3
    with EnvVars(env):
        t = hyperfine(cmds, runs, prepare=f"rm -rf {wh} && cp -r {base} {wh}")
        for name, cmd in cmds.items():
            run(["sh", "-c", f"rm -rf {wh} && cp -r {base} {wh}"])
            t[name]["peak_rss_kib"] = peak_rss_kib(cmd)
    rows = SIZES[size]
    for name, v in t.items():
        res.put(size, "ingest", name, v["mean_s"], unit="s", rows_per_s=rows / v["mean_s"], **v)
    log(f"{size} ingest: " + ", ".join(f"{k} {v['mean_s']:.2f} s" for k, v in t.items()))


class EnvVars:
    def __init__(self, env):
        self.env, self.saved = env, {}

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)

    def __exit__(self, *a):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


GROUPBY_SQL = {
    "residents_per_nil": "SELECT count(*), sum(n) FROM (SELECT c.nil_id, count(*) AS n FROM population p "
                         "JOIN cells c ON c.cell = p.h3_10 AND c.res = 10 WHERE c.nil_id IS NOT NULL GROUP BY c.nil_id)",
    "spending_by_area": "SELECT count(*), sum(ente) FROM (SELECT area_utenza, sum(quota_ente_eur) AS ente, "
                        "sum(quota_utente_eur), sum(quota_ssn_eur) FROM interventions GROUP BY area_utenza)",
    "persons_per_res9": "SELECT count(*), sum(n) FROM (SELECT h3_parent(h3_10, 9) AS cell, count(*) AS n "
                        "FROM population WHERE h3_10 IS NOT NULL GROUP BY 1)",
}


def w_groupby(size, d, env, res):
    wh = d / "warehouse"
    runs = 11
    for name, sql in GROUPBY_SQL.items():
        rows, ours = mosaico_repeat(wh, sql, runs, env)
        groups, total = int(rows[0][0]), float(rows[0][1])
        res.put(size, "groupby", f"{name}/mosaico", ours["median_ms"], unit="ms", **ours)
        line = [f"mosaico {ours['median_ms']:.1f} ms"]
        for tool in ("duckdb", "polars"):
            p = py("groupby", tool, wh, name, runs)
            if p["groups"] != groups or abs(p["total"] - total) > 1e-6 * max(1.0, abs(total)):
                raise SystemExit(f"{size} {name}: {tool} answers {p['groups']} groups / {p['total']}, "
                                 f"Mosaico {groups} / {total}")
            res.put(size, "groupby", f"{name}/{tool}", p["median_ms"], unit="ms", **p)
            line.append(f"{tool} {p['median_ms']:.1f} ms")
        log(f"{size} {name} ({groups} groups): " + ", ".join(line))


E2SFCA_SQL = f"SELECT count(*) AS cells, sum(potential) AS persons FROM accessibility('{TARGET}', 'cell', 9, 'e2sfca', 3.0)"


def w_e2sfca(size, d, env, res):
    wh = d / "warehouse"
    # Agreement first: every cell, unsuppressed.
    ours_csv, peer_csv = d / "e2sfca-ours.csv", d / "e2sfca-peer.csv"
    run([str(BIN), "--warehouse", str(wh), "sql", "--format", "csv", "--out", str(ours_csv),
         f"SELECT hex_id, potential, accessibility FROM accessibility('{TARGET}', 'cell', 9, 'e2sfca', 3.0)"],
        env={**env, "MOSAICO_SUPPRESSION_THRESHOLD": "1"})
    py("e2sfca", wh, peer_csv)
    agreement = py("compare-e2sfca", ours_csv, peer_csv)
    vpy = VENV / "bin" / "python"
    with EnvVars(env):
        t = hyperfine({"mosaico": f"{BIN} --warehouse {wh} sql \"{E2SFCA_SQL}\"",
                       "peer": f"{vpy} {BENCH / 'peers.py'} e2sfca {wh}"}, 5)
    _, inproc = mosaico_repeat(wh, E2SFCA_SQL, 11, env)
    for name, v in t.items():
        res.put(size, "e2sfca", name, v["mean_s"], unit="s", **v, agreement=agreement)
    res.put(size, "e2sfca", "mosaico_in_process", inproc["median_ms"], unit="ms", **inproc)
    log(f"{size} e2sfca ({agreement['cells']} cells, max Δ {agreement['max_abs_diff']:.1e}): "
        f"mosaico {t['mosaico']['mean_s'] * 1e3:.0f} ms, peer {t['peer']['mean_s'] * 1e3:.0f} ms")


def w_mclp(size, d, env, res, p=10, radius=1.0):
    wh, inst = d / "warehouse", d / "mclp"
    cells = d / "mclp-demand.csv"
    run([str(BIN), "--warehouse", str(wh), "sql", "--format", "csv", "--out", str(cells),
         f"SELECT hex_id, potential FROM demand('{TARGET}', 'cell', 9)"], env={**env, "MOSAICO_SUPPRESSION_THRESHOLD": "1"})
    shape = py("mclp-instance", cells, inst)
    ours = inst / "mosaico.json"
    cmd = f"{BIN} locate --demand {inst}/demand.csv --candidates {inst}/candidates.csv --model mclp --p {p} " \
          f"--radius-km {radius} --out {ours}"
    t = hyperfine({"mosaico": cmd}, 5)["mosaico"]
    mine = json.load(open(ours))
    spopt_out = inst / "spopt.json"
    t0 = time.perf_counter()
    run([str(VENV / "bin" / "python"), str(BENCH / "locate.py"), "spopt", "--dir", str(inst), "--p", str(p),
         "--radius-km", str(radius), "--budget", "300", "--out", str(spopt_out)])
    spopt_s = time.perf_counter() - t0
    theirs = json.load(open(spopt_out))
    res.put(size, "mclp", "mosaico", t["mean_s"], unit="s", objective=mine.get("objective"), bound=mine.get("bound"),
            **shape, p=p, radius_km=radius, **t)
    res.put(size, "mclp", "spopt", spopt_s, unit="s", objective=theirs.get("objective"), exact=theirs.get("exact"),
            status=theirs.get("status"))
    log(f"{size} mclp ({shape['points']} points): mosaico {t['mean_s']:.2f} s objective {mine.get('objective')}, "
        f"spopt {spopt_s:.1f} s objective {theirs.get('objective')} exact {theirs.get('exact')}")


class Server:
    """`mosaico demo --persons N` on the size's folder, on a free port."""

    def __init__(self, size, d, env):
        self.size, self.d, self.env, self.port = size, d, env, free_port()
        self.proc = None

    def __enter__(self):
        t = time.perf_counter()
        self.log = open(self.d / "server.log", "w")
        self.proc = subprocess.Popen([str(BIN), "demo", "--persons", str(SIZES[self.size]), "--seed", str(SEED),
                                      "--port", str(self.port)], cwd=ROOT, env={**os.environ, **self.env},
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 1800
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"mosaico demo exited ({self.proc.returncode}); see {self.d / 'server.log'}")
            try:
                urllib.request.urlopen(self.url("/healthz"), timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("mosaico demo did not answer /healthz within 30 minutes")
        self.ready_s = time.perf_counter() - t
        body = json.dumps({"username": "dirigente", "password": "mosaico-demo"}).encode()
        req = urllib.request.Request(self.url("/api/v1/session"), data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            cookie = r.headers.get("Set-Cookie", "")
            answer = json.loads(r.read() or b"{}")
        self.token = answer.get("token") or cookie.split(";", 1)[0].split("=", 1)[-1]
        return self

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path):
        req = urllib.request.Request(self.url(path), headers={"Authorization": f"Bearer {self.token}"})
        t = time.perf_counter()
        with urllib.request.urlopen(req, timeout=300) as r:
            body = r.read()
        return body, (time.perf_counter() - t) * 1e3

    def memory_kib(self):
        status = open(f"/proc/{self.proc.pid}/status").read()
        field = lambda k: int(re.search(rf"{k}:\s+(\d+) kB", status)[1])  # noqa: E731
        return {"rss_kib": field("VmRSS"), "peak_rss_kib": field("VmHWM")}

    def __exit__(self, *a):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def wrk(server, paths, rate, seconds=20, threads=2):
    conns = max(4, min(80, rate // 5))
    conns -= conns % threads
    env = {"WRK_RATE": str(rate), "WRK_THREADS": str(threads), "WRK_PATHS": "|".join(paths), "WRK_TOKEN": server.token}
    r = run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s", "-s", str(BENCH / "wrk_rate.lua"),
             server.url("")], env=env)
    line = next(x for x in reversed(r.stdout.splitlines()) if x.startswith("{"))
    return {**json.loads(line), "connections": conns, "seconds": seconds}


def w_api(size, d, env, res):
    with Server(size, d, env) as s:
        res.put(size, "api", "ready_s", s.ready_s, unit="s")
        first = {}
        for name, path in ENDPOINTS.items():
            _, first[name] = s.get(path)     # the first request of each, cold
        res.put(size, "api", "first_request_ms", first, unit="ms")
        # Serial latency of each endpoint, warm.
        for name, path in ENDPOINTS.items():
            times = sorted(s.get(path)[1] for _ in range(20))
            res.put(size, "api", f"serial/{name}", statistics.median(times), unit="ms", p90_ms=times[17], max_ms=times[-1])
        log(f"{size} api: ready in {s.ready_s:.1f} s; first requests " +
            ", ".join(f"{k} {v:.0f} ms" for k, v in first.items()))
        # Each endpoint alone at 200/s, then the mix at growing rates.
        for name, path in ENDPOINTS.items():
            w = wrk(s, [path], 200)
            res.put(size, "api", f"load200/{name}", w["p99_ms"], unit="ms", **w)
            log(f"{size} api {name} @200/s: p50 {w['p50_ms']:.1f} ms p99 {w['p99_ms']:.1f} ms, "
                f"{w['rate_achieved']:.0f}/s, errors {w['errors']}")
        for rate in RATES:
            w = wrk(s, list(ENDPOINTS.values()), rate)
            res.put(size, "api", f"mix/{rate}", w["p99_ms"], unit="ms", **w)
            log(f"{size} api mix @{rate}/s: p50 {w['p50_ms']:.1f} ms p99 {w['p99_ms']:.1f} ms, "
                f"{w['rate_achieved']:.0f}/s, errors {w['errors']}")
        res.put(size, "api", "memory", s.memory_kib()["peak_rss_kib"], unit="KiB", **s.memory_kib())
        measure_pdz(s, size, d, res)


def measure_pdz(s, size, d, res):
    """The Piano di Zona on a running server, and its core table in DuckDB."""
    pdz = f"/api/v1/reports/piano-di-zona?ente=015146&year={YEAR}"
    _, cold = s.get(pdz)
    times = sorted(s.get(pdz)[1] for _ in range(5))
    res.put(size, "pdz", "mosaico", cold, unit="ms", warm_ms=statistics.median(times))
    xlsx = sorted(s.get(pdz + "&format=xlsx")[1] for _ in range(3))
    res.put(size, "pdz", "mosaico_xlsx", statistics.median(xlsx), unit="ms")
    peer = py("pdz", d / "warehouse", YEAR, 5)
    res.put(size, "pdz", "duckdb_core_table", peer["median_ms"], unit="ms", **peer)
    log(f"{size} pdz: mosaico {cold:.0f} ms (whole report, first request; then {statistics.median(times):.0f} ms), "
        f"duckdb core table {peer['median_ms']:.0f} ms")


def w_pdz(size, d, env, res):
    """Measured with the api workload when it runs (same server); else on its own."""
    if "api" not in ARGS.only:
        with Server(size, d, env) as s:
            measure_pdz(s, size, d, res)


def w_search(size, d, env, res):
    """The case database holds one comune's residents: S's 100,000 and, from M up, a
    million (Milan has 1.4 M); importing ten million would take half an hour and say
    nothing more about the index scans."""
    if SIZES[size] > 2_000_000:
        return
    persons = min(SIZES[size], 1_000_000)
    out = run(["cargo", "bench", "--locked", "-q", "-p", "mosaico-case-app", "--bench", "registry_search", "--",
               "--persons", str(persons), "--queries", "2000"], cwd=ROOT).stdout
    for line in out.splitlines():
        m = re.match(r"(sqlite|postgres)\s+persons\s+(\d+)\s+import\s+([\d.]+) s.*p50\s+([\d.]+) ms\s+p95\s+([\d.]+) ms"
                     r"\s+p99\s+([\d.]+) ms\s+max\s+([\d.]+) ms", line)
        if m:
            res.put(size, "search", m[1], float(m[6]), unit="ms", persons=int(m[2]), import_s=float(m[3]),
                    p50_ms=float(m[4]), p95_ms=float(m[5]), max_ms=float(m[7]))
            log(f"{size} search {m[1]} ({int(m[2]):,} persons): p50 {m[4]} ms, p99 {m[6]} ms")


# ---------------------------------------------------------------------------------------
# BENCHMARKS.md


def render(res):
    from render import render_markdown

    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    begin, end = "<!-- suite:begin -->", "<!-- suite:end -->"
    body = render_markdown(res.doc, SIZES)
    if begin in text:
        text = text[: text.index(begin)] + begin + "\n" + body + end + text[text.index(end) + len(end):]
    else:
        head, _, rest = text.partition("\n")
        text = f"{head}\n\n{begin}\n{body}{end}\n{rest}"
    DOC.write_text(text)
    log(f"wrote {DOC.relative_to(ROOT)}")


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="S,M", help="S, M, L (comma-separated)")
    ap.add_argument("--only", default=",".join(WORKLOADS), help="workloads (comma-separated)")
    ap.add_argument("--no-build", action="store_true", help="use target/release/mosaico as it is")
    ap.add_argument("--render", action="store_true", help="only rewrite BENCHMARKS.md from the results")
    ARGS = ap.parse_args()
    ARGS.only = ARGS.only.split(",")
    os.chdir(ROOT)
    sys.path.insert(0, str(BENCH))
    res = Results()
    if ARGS.render:
        return render(res)
    for tool in ("hyperfine", "wrk"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: apt-get install {tool}")
    if not ARGS.no_build:
        log("cargo build --release")
        run(["cargo", "build", "--release", "--locked", "--bin", "mosaico"], cwd=ROOT, capture=False)
    if not (VENV / "bin" / "python").exists():
        log(f"peers: a venv in {VENV.relative_to(ROOT)}")
        run([sys.executable, "-m", "venv", str(VENV)])
    run([str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r",
         str(BENCH / "requirements.txt")])
    os.environ["MOSAICO_TEST_PG_URL"] = os.environ.get("MOSAICO_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test")
    steps = {"ingest": w_ingest, "groupby": w_groupby, "e2sfca": w_e2sfca, "mclp": w_mclp, "pdz": w_pdz,
             "search": w_search, "api": w_api}
    for size in ARGS.sizes.split(","):
        d, env = dataset(size, res)
        for w in WORKLOADS:
            if w in ARGS.only:
                log(f"{size}: {w}")
                steps[w](size, d, env, res)
    render(res)


if __name__ == "__main__":
    main()
