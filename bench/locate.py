#!/usr/bin/env python3
"""Location-optimisation benchmark helpers (bench/locate.sh drives them).

  locate.py gen   --out DIR [--points 230000] [--candidates 20000] [--seed 1]
      A deterministic synthetic Lombardy-scale MCLP instance: demand points on a regular
      lat/lon grid (0.435 km apart at the default size) over Lombardy's bounding box, weighted by a
      population-like surface (rural background, sparse Alps, Gaussian city bumps,
      seeded log-normal noise, rounded to integers, zeros dropped); candidates a seeded
      sample of the demand locations, drawn in proportion to sqrt(weight). Writes
      DIR/demand.csv (id,lat,lon,weight), DIR/candidates.csv (id,lat,lon), DIR/meta.json.
      A candidate's id is the id of the demand point at the same place.

  locate.py sub   --from DIR --out DIR2 --fraction F
      The demand points and candidates inside a window centred on Milan (shifted to stay
      inside the bounding box) covering fraction F of the full instance's box area, so
      point spacing (and the 3 km structure) is kept. Ids are kept.

  locate.py spopt --dir DIR --p 50 --radius-km 3 [--time-limit 600] [--build-limit 600]
                  [--budget S] [--cbc-log FILE] --out result.json
      The exact MCLP with PySAL spopt (MCLP.from_cost_matrix + CBC through pulp, CBC's
      defaults, one thread). The cost matrix is dense (spopt needs it): haversine km for
      the pairs within the radius, radius*10 elsewhere (only "<= radius" matters). Times:
      matrix_s (our dense matrix), build_s (spopt's model: a Python loop over all n*m
      cells, the part that grows fastest), solve_s (pulp: MPS write + CBC + read back).
      --time-limit is CBC's limit and --build-limit the model build's; --budget S instead
      puts everything (reading, matrix, build, CBC) under one limit, CBC getting what is
      left. "exact" is true only when CBC proves optimality in time. The objective is
      recomputed here from the chosen sites; when CBC stops on time the bound is its best
      possible value (its log's "Upper bound"). Refuses (status "not attempted") when the
      dense matrices would not fit in memory.

  locate.py highs --dir DIR --p 50 --radius-km 3 [--time-limit 600] [--lp] [--out FILE]
      Not the peer: the same MCLP as a sparse MILP (pairs within the radius only) with
      scipy's HiGHS, for a reference optimum or (--lp) an LP upper bound on instances
      spopt cannot build. Not run by locate.sh.

  locate.py stats --dir DIR [--radius-km 3]
      Points, candidates, (point, candidate) pairs within the radius, total and coverable
      weight; also written to DIR/stats-r<R>.json.

  locate.py table --p P [--radius-km R] [--out FILE.md] DIR...
      The markdown summary bench/locate.sh writes, from the JSON files in each DIR.

  locate.py check --dir DIR --result result.json
      Recomputes a result's covered weight from the CSVs (independently of whoever
      wrote it: Mosaico or the spopt run) and compares it with the result's objective
      and bound. Exit status 1 on a disagreement.

Distances: haversine km, Earth radius 6371.0088 km, the same formula and argument order
(candidate, point) as mosaico's fca::haversine_km; a point is covered when d <= radius.
"""
import argparse
import json
import math
import os
import re
import signal
import sys
import tempfile
import time

import numpy as np
import pandas as pd

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180.0
# Lombardy's bounding box (degrees).
BBOX = dict(lat_min=44.68, lat_max=46.64, lon_min=8.50, lon_max=11.43)
MILAN = (45.464, 9.190)
# City bumps: (name, lat, lon, peak persons/km², sigma km).
CITIES = [
    ("Milano", 45.464, 9.190, 7000.0, 5.0),
    ("Milano (metro)", 45.50, 9.20, 1500.0, 18.0),
    ("Brescia", 45.54, 10.22, 2500.0, 4.0),
    ("Bergamo", 45.70, 9.67, 2500.0, 3.5),
    ("Monza", 45.58, 9.27, 3000.0, 3.0),
    ("Como", 45.81, 9.09, 2000.0, 2.5),
    ("Varese", 45.82, 8.83, 1800.0, 3.0),
    ("Pavia", 45.19, 9.16, 1800.0, 2.5),
    ("Cremona", 45.13, 10.02, 1500.0, 2.5),
    ("Mantova", 45.16, 10.79, 1500.0, 2.5),
    ("Lecco", 45.85, 9.39, 1500.0, 2.0),
    ("Lodi", 45.31, 9.50, 1500.0, 2.0),
    ("Sondrio", 46.17, 9.87, 1000.0, 1.5),
]


# --- geometry -----------------------------------------------------------------------

def haversine_km(lat1, lon1, lat2, lon2):
    """mosaico's fca::haversine_km(a = (lat1, lon1), b = (lat2, lon2)), vectorised."""
    la1, la2 = np.radians(lat1), np.radians(lat2)
    dla, dlo = np.radians(lat2 - lat1), np.radians(lon2 - lon1)
    h = np.sin(dla / 2.0) ** 2 + np.cos(la1) * np.cos(la2) * np.sin(dlo / 2.0) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(np.sqrt(h), 1.0))


def unit_xyz(lat, lon):
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def pairs_within(dem, cand, radius_km):
    """(i, j, km) for every demand point i and candidate j with haversine km <= radius_km.

    A k-d tree on unit vectors finds the pairs within a slightly widened chord, then the
    exact haversine decides."""
    from scipy.spatial import cKDTree

    chord = 2.0 * math.sin(radius_km / (2.0 * EARTH_RADIUS_KM)) * (1.0 + 1e-7) + 1e-12
    tree = cKDTree(unit_xyz(dem["lat"].to_numpy(), dem["lon"].to_numpy()))
    near = tree.query_ball_point(unit_xyz(cand["lat"].to_numpy(), cand["lon"].to_numpy()), chord)
    lens = np.fromiter((len(x) for x in near), dtype=np.int64, count=len(near))
    j = np.repeat(np.arange(len(cand), dtype=np.int64), lens)
    i = np.fromiter((k for x in near for k in x), dtype=np.int64, count=int(lens.sum()))
    km = haversine_km(cand["lat"].to_numpy()[j], cand["lon"].to_numpy()[j],
                      dem["lat"].to_numpy()[i], dem["lon"].to_numpy()[i])
    keep = km <= radius_km
    return i[keep], j[keep], km[keep]


def covered_weight(dem, cand, site_rows, radius_km):
    """Demand weight within radius_km of at least one of the candidate rows site_rows,
    and how many points' coverage hangs on a distance within 1e-9 km of the radius."""
    sub = cand.iloc[np.asarray(site_rows, dtype=np.int64)]
    i, _, km = pairs_within(dem, sub, radius_km + 1e-6)
    nearest = np.full(len(dem), np.inf)
    np.minimum.at(nearest, i, km)
    cov = nearest <= radius_km
    borderline = int((np.abs(nearest - radius_km) <= 1e-9).sum())
    return float(dem["weight"].to_numpy()[cov].sum()), int(cov.sum()), borderline


# --- instance generation ------------------------------------------------------------

def density(lat, lon):
    """Persons per km²: rural plains, a sparse Alpine north, and the cities."""
    alps = 1.0 / (1.0 + np.exp(-(lat - 45.92) / 0.05))          # 0 in the plains, 1 north
    d = 120.0 * (1.0 - alps) + 4.0 * alps
    coslat = math.cos(math.radians(45.66))
    for _, clat, clon, peak, sigma in CITIES:
        dy = (lat - clat) * KM_PER_DEGREE
        dx = (lon - clon) * KM_PER_DEGREE * coslat
        d = d + peak * np.exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma))
    return d


def grid_weights(spacing_km, seed):
    mid = math.radians((BBOX["lat_min"] + BBOX["lat_max"]) / 2.0)
    dlat = spacing_km / KM_PER_DEGREE
    dlon = spacing_km / (KM_PER_DEGREE * math.cos(mid))
    lats = BBOX["lat_min"] + dlat * (0.5 + np.arange(int((BBOX["lat_max"] - BBOX["lat_min"]) / dlat)))
    lons = BBOX["lon_min"] + dlon * (0.5 + np.arange(int((BBOX["lon_max"] - BBOX["lon_min"]) / dlon)))
    lat, lon = np.meshgrid(lats, lons, indexing="ij")
    lat, lon = lat.ravel(), lon.ravel()
    # Cell area at this latitude (the lon spacing is fixed in degrees).
    area = spacing_km * spacing_km * np.cos(np.radians(lat)) / math.cos(mid)
    rng = np.random.default_rng(seed)
    sigma = 0.8
    noise = rng.lognormal(-sigma * sigma / 2.0, sigma, size=lat.size)   # mean 1
    w = np.rint(density(lat, lon) * area * noise)
    return lat, lon, w


def cmd_gen(a):
    area = ((BBOX["lat_max"] - BBOX["lat_min"]) * KM_PER_DEGREE) * (
        (BBOX["lon_max"] - BBOX["lon_min"]) * KM_PER_DEGREE * math.cos(math.radians(45.66)))
    spacing = math.sqrt(area / a.points)
    for _ in range(6):  # the share of zero weights barely depends on the spacing
        lat, lon, w = grid_weights(spacing, a.seed)
        n = int((w > 0).sum())
        if abs(n - a.points) <= 0.002 * a.points:
            break
        spacing *= math.sqrt(n / a.points)
    keep = w > 0
    dem = pd.DataFrame({"id": np.flatnonzero(keep) + 1, "lat": lat[keep], "lon": lon[keep],
                        "weight": w[keep].astype(np.int64)})
    if a.candidates > len(dem):
        sys.exit(f"{a.candidates} candidates asked for but only {len(dem)} demand points")
    rng = np.random.default_rng(a.seed + 1_000_003)
    p = np.sqrt(dem["weight"].to_numpy(dtype=float))
    rows = np.sort(rng.choice(len(dem), size=a.candidates, replace=False, p=p / p.sum()))
    cand = dem.iloc[rows][["id", "lat", "lon"]]
    write_instance(a.out, dem, cand, dict(
        kind="full", seed=a.seed, spacing_km=round(spacing, 6), grid=int(lat.size),
        bbox=BBOX, requested_points=a.points, requested_candidates=a.candidates))


def write_instance(out, dem, cand, meta):
    os.makedirs(out, exist_ok=True)
    dem.to_csv(os.path.join(out, "demand.csv"), index=False, float_format="%.6f")
    cand.to_csv(os.path.join(out, "candidates.csv"), index=False, float_format="%.6f")
    meta = dict(meta, points=len(dem), candidates=len(cand),
                total_weight=float(dem["weight"].sum()))
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"{out}: {len(dem)} demand points (total weight {meta['total_weight']:.0f}), "
          f"{len(cand)} candidates")


def read_instance(d):
    dem = pd.read_csv(os.path.join(d, "demand.csv"), dtype={"id": str})
    cand = pd.read_csv(os.path.join(d, "candidates.csv"), dtype={"id": str})
    return dem, cand


def cmd_sub(a):
    with open(os.path.join(a.src, "meta.json")) as f:
        meta = json.load(f)
    box = meta["bbox"]
    if not 0.0 < a.fraction <= 1.0:
        sys.exit("--fraction must be in (0, 1]")
    s = math.sqrt(a.fraction)
    win = {}
    for lo, hi, centre in (("lat_min", "lat_max", MILAN[0]), ("lon_min", "lon_max", MILAN[1])):
        half = s * (box[hi] - box[lo]) / 2.0
        c = min(max(centre, box[lo] + half), box[hi] - half)   # stay inside the box
        win[lo], win[hi] = c - half, c + half
    dem, cand = read_instance(a.src)
    inside = lambda t: ((t["lat"] >= win["lat_min"]) & (t["lat"] < win["lat_max"]) &
                        (t["lon"] >= win["lon_min"]) & (t["lon"] < win["lon_max"]))
    write_instance(a.out, dem[inside(dem)], cand[inside(cand)], dict(
        kind="sub", parent=os.path.abspath(a.src), fraction=a.fraction, bbox=win,
        seed=meta.get("seed"), spacing_km=meta.get("spacing_km")))


# --- spopt --------------------------------------------------------------------------

class BuildTimeout(Exception):
    pass


def cbc_log_numbers(path):
    """From a CBC log: the 'Result - ...' line, the final objective and bound (printed
    positive for a max problem: 'Upper bound'), the 'best possible' of the partial-search
    line (negated: CBC minimises -objective), the node count and the wall time."""
    out = {}
    try:
        text = open(path).read()
    except OSError:
        return out
    m = re.search(r"^Result - (.*)$", text, re.M)
    if m:
        out["result"] = m.group(1).strip()
    for key, pat in (("objective", r"^Objective value:\s*(\S+)"),
                     ("bound", r"^(?:Upper|Lower) bound:\s*(\S+)"),
                     ("best_possible", r"best possible (\S+?)\)"),
                     ("gap", r"^Gap:\s*(\S+)"), ("nodes", r"^Enumerated nodes:\s*(\S+)"),
                     ("cbc_wall_s", r"^Total time \(CPU seconds\):.*\(Wallclock seconds\):\s*(\S+)")):
        m = re.search(pat, text, re.M)
        if m:
            try:
                out[key] = float(m.group(1))
            except ValueError:
                pass
    return out


def mem_available_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def cmd_spopt(a):
    import pulp
    from spopt.locate import MCLP

    t0 = time.perf_counter()
    dem, cand = read_instance(a.dir)
    n, m = len(dem), len(cand)
    weights = dem["weight"].to_numpy(dtype=float)
    total = float(weights.sum())
    res = dict(tool="spopt", model="mclp", p=a.p, radius_km=a.radius_km, points=n, candidates=m,
               total_weight=total, budget_s=a.budget,
               time_limit_s=None if a.budget else a.time_limit,
               build_limit_s=None if a.budget else a.build_limit,
               objective=None, bound=None, gap=None, exact=False, sites=[],
               matrix_s=None, build_s=None, solve_s=None)

    def finish(status):
        res["status"] = status
        res["elapsed_s"] = round(time.perf_counter() - t0, 3)
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
        shown = {k: v for k, v in res.items() if k != "sites"}
        print(json.dumps(shown))

    i, j, km = pairs_within(dem, cand, a.radius_km)
    res["pairs"] = int(len(i))
    # spopt holds the cost matrix and its 0/1 copy `aij` densely (float64 each), plus a
    # boolean mask while building it.
    need = n * m * (8 + 8 + 1)
    avail = mem_available_bytes()
    res["dense_bytes"] = need
    if avail is not None and need > 0.8 * avail:
        return finish(f"not attempted: spopt's dense {n}x{m} matrices need {need / 2**30:.1f} GiB, "
                      f"{avail / 2**30:.1f} GiB available")

    def on_alarm(signum, frame):
        raise BuildTimeout()

    signal.signal(signal.SIGALRM, on_alarm)
    build_limit = a.build_limit
    if a.budget:
        build_limit = a.budget - (time.perf_counter() - t0)
    if build_limit > 0:
        signal.alarm(int(math.ceil(build_limit)))
    try:
        tb = time.perf_counter()
        cost = np.full((n, m), a.radius_km * 10.0)
        cost[i, j] = km
        res["matrix_s"] = round(time.perf_counter() - tb, 3)
        tb = time.perf_counter()
        model = MCLP.from_cost_matrix(cost, weights, service_radius=a.radius_km, p_facilities=a.p)
        res["build_s"] = round(time.perf_counter() - tb, 3)
    except BuildTimeout:
        return finish(f"not solved: the model build did not finish within {build_limit:.0f} s")
    finally:
        signal.alarm(0)
    del cost

    log = a.cbc_log or tempfile.NamedTemporaryFile(prefix="cbc-", suffix=".log", delete=False).name
    limit = a.time_limit
    if a.budget:   # one budget for everything: CBC gets what the build left
        limit = max(1.0, a.budget - (time.perf_counter() - t0))
    res["cbc_limit_s"] = round(limit, 1)
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=limit, logPath=log)
    ts = time.perf_counter()
    try:
        model.solve(solver, results=False)
        err = None
    except Exception as e:  # spopt raises when CBC found no integer solution at all
        err = str(e)
    res["solve_s"] = round(time.perf_counter() - ts, 3)
    cbc = cbc_log_numbers(log)
    if not a.cbc_log:
        os.unlink(log)
    res["cbc"] = cbc
    res["pulp_status"] = pulp.LpStatus.get(model.problem.status)
    res["pulp_sol_status"] = pulp.LpSolution.get(model.problem.sol_status)
    if err is not None:
        if "bound" in cbc or "best_possible" in cbc:
            res["bound"] = abs(cbc.get("bound", cbc.get("best_possible")))
        return finish(f"not solved: CBC found no solution in {limit:.0f} s ({cbc.get('result', err)})")

    chosen = [k for k, v in enumerate(model.fac_vars) if (v.value() or 0.0) > 0.5]
    res["sites"] = cand["id"].iloc[chosen].tolist()
    cov = np.zeros(n, dtype=bool)
    cov[i[np.isin(j, chosen)]] = True
    res["objective"] = float(weights[cov].sum())
    res["spopt_objective"] = float(pulp.value(model.problem.objective))
    proven = model.problem.sol_status == pulp.LpSolutionOptimal
    res["exact"] = bool(proven)
    if proven:
        res["bound"] = res["objective"]
    elif "bound" in cbc or "best_possible" in cbc:
        # CBC minimises -objective; it prints the bound of a max problem as "Upper bound"
        # (positive) and "best possible" (negated).
        res["bound"] = abs(cbc.get("bound", cbc.get("best_possible")))
    if res["bound"]:
        res["gap"] = (res["bound"] - res["objective"]) / res["bound"]
    finish("Optimal" if proven else f"not proven optimal in {limit:.0f} s: {cbc.get('result', res['pulp_sol_status'])}")


# --- a reference outside the comparison: the same MCLP, sparse, with HiGHS -----------

def cmd_highs(a):
    """The MCLP as a sparse MILP (only the pairs within the radius; y continuous, which
    loses nothing: with x integral the best y_i is min(1, sum x) in {0, 1}) with scipy's
    HiGHS; --lp solves the relaxation only (an upper bound). Not the peer: a reference
    optimum/bound for instances spopt cannot build."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import csr_matrix, hstack, identity, vstack

    t0 = time.perf_counter()
    dem, cand = read_instance(a.dir)
    n, m = len(dem), len(cand)
    w = dem["weight"].to_numpy(dtype=float)
    i, j, _ = pairs_within(dem, cand, a.radius_km)
    reach = np.zeros(n, dtype=bool)
    reach[i] = True
    # variables: x_0..x_{m-1}, y_0..y_{n-1}; rows: y_i - sum_{j in N_i} x_j <= 0, sum x = p
    cover = hstack([csr_matrix((-np.ones(len(i)), (i, j)), shape=(n, m)), identity(n, format="csr")])
    card = csr_matrix(np.concatenate([np.ones(m), np.zeros(n)])[None, :])
    A = vstack([cover, card]).tocsr()
    lb = np.concatenate([np.full(n, -np.inf), [a.p]])
    ub = np.concatenate([np.zeros(n), [a.p]])
    c = np.concatenate([np.zeros(m), -w])
    integrality = np.concatenate([np.ones(m), np.zeros(n)]) if not a.lp else np.zeros(m + n)
    bounds = Bounds(np.zeros(m + n), np.concatenate([np.ones(m), reach.astype(float)]))
    build_s = time.perf_counter() - t0
    ts = time.perf_counter()
    if a.lp:   # linprog: milp on a continuous model reported solve errors at full size
        from scipy.optimize import linprog
        card_row = A[n:n + 1]
        r = linprog(c, A_ub=A[:n], b_ub=np.zeros(n), A_eq=card_row, b_eq=[a.p],
                    bounds=np.column_stack([bounds.lb, bounds.ub]), method=a.lp_method,
                    options=dict(time_limit=a.time_limit, disp=False))
    else:
        r = milp(c, integrality=integrality, bounds=bounds, constraints=LinearConstraint(A, lb, ub),
                 options=dict(time_limit=a.time_limit, disp=False))
    solve_s = time.perf_counter() - ts
    out = dict(tool="highs", lp=a.lp, method=a.lp_method if a.lp else "milp", model="mclp", p=a.p, radius_km=a.radius_km, points=n, candidates=m,
               pairs=int(len(i)), status=r.message, build_s=round(build_s, 3), solve_s=round(solve_s, 3))
    if r.x is not None:
        value = -float(r.fun)
        if a.lp:
            out.update(bound=value, exact=False)
        else:
            chosen = np.flatnonzero(r.x[:m] > 0.5)
            cov = np.zeros(n, dtype=bool)
            cov[i[np.isin(j, chosen)]] = True
            bound = -float(getattr(r, "mip_dual_bound", r.fun) or r.fun)
            out.update(objective=float(w[cov].sum()), bound=bound, exact=bool(r.status == 0),
                       sites=cand["id"].iloc[chosen].tolist())
            out["gap"] = (bound - out["objective"]) / bound if bound else 0.0
    out["elapsed_s"] = round(time.perf_counter() - t0, 3)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1)
    print(json.dumps({k: v for k, v in out.items() if k != "sites"}))


# --- check --------------------------------------------------------------------------

def cmd_check(a):
    dem, cand = read_instance(a.dir)
    with open(a.result) as f:
        r = json.load(f)
    radius = float(r.get("radius_km", a.radius_km if a.radius_km else 3.0))
    if a.radius_km:
        radius = a.radius_km
    sites = [str(s) for s in r["sites"]]
    row_of = {s: k for k, s in enumerate(cand["id"].tolist())}
    unknown = [s for s in sites if s not in row_of]
    problems = []
    if unknown:
        problems.append(f"{len(unknown)} unknown site id(s), e.g. {unknown[:3]}")
    if len(set(sites)) != len(sites):
        problems.append(f"{len(sites) - len(set(sites))} duplicate site id(s)")
    notes = []
    if "p" in r and len(set(sites)) > int(r["p"]):
        problems.append(f"{len(set(sites))} distinct sites for p = {r['p']}")
    elif "p" in r and len(set(sites)) < int(r["p"]):
        notes.append(f"only {len(set(sites))} sites for p = {r['p']}")
    rows = sorted({row_of[s] for s in sites if s in row_of})
    w, npts, borderline = covered_weight(dem, cand, rows, radius)
    total = float(dem["weight"].sum())
    obj, bound = r.get("objective"), r.get("bound")
    tol = 1e-9 * max(total, 1.0)
    if obj is not None and abs(float(obj) - w) > tol:
        problems.append(f"the result says objective {obj}, recomputed {w}")
    if obj is not None and bound is not None and float(obj) > float(bound) + tol:
        problems.append(f"objective {obj} above the bound {bound}")
    if bound is not None and float(bound) > total + tol:
        problems.append(f"bound {bound} above the total weight {total}")
    if "points" in r and int(r["points"]) != len(dem):
        problems.append(f"the result says {r['points']} points, the CSV has {len(dem)}")
    if "candidates" in r and int(r["candidates"]) != len(cand):
        problems.append(f"the result says {r['candidates']} candidates, the CSV has {len(cand)}")
    print(f"{a.result}: {len(rows)} sites cover {w:.0f} of {total:.0f} ({100 * w / total:.3f}%), "
          f"{npts} of {len(dem)} points within {radius:g} km; result objective {obj}, bound {bound}"
          + (f"; {borderline} point(s) within 1e-9 km of the radius" if borderline else "")
          + "".join(f"; {x}" for x in notes))
    if problems:
        print("CHECK FAILED: " + "; ".join(problems))
        sys.exit(1)
    print("check ok")


# --- stats and the summary table ------------------------------------------------------

def cmd_stats(a):
    dem, cand = read_instance(a.dir)
    i, _, _ = pairs_within(dem, cand, a.radius_km)
    cov = np.zeros(len(dem), dtype=bool)
    cov[i] = True
    w = dem["weight"].to_numpy(dtype=float)
    out = dict(points=len(dem), candidates=len(cand), radius_km=a.radius_km, pairs=int(len(i)),
               total_weight=float(w.sum()), coverable_weight=float(w[cov].sum()))
    with open(os.path.join(a.dir, f"stats-r{a.radius_km:g}.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out))


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt_s(x):
    return "—" if x is None else (f"{x:.2f} s" if x < 10 else f"{x:.0f} s")


def cmd_table(a):
    """One markdown row per instance directory, from the files locate.sh leaves there:
    meta.json, stats-r<R>.json, spopt-<tag>.json, mosaico-<tag>.json, mosaico-<tag>.time.json."""
    tag = f"p{a.p}-r{a.radius_km:g}"
    rows = ["| instance | points | candidates | pairs ≤ r | p | radius | spopt time (build + solve) "
            "| spopt optimum | mosaico time | mosaico objective | mosaico bound | objective / optimum |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for d in a.dirs:
        meta = load_json(os.path.join(d, "meta.json")) or {}
        st = load_json(os.path.join(d, f"stats-r{a.radius_km:g}.json")) or {}
        sp = load_json(os.path.join(d, f"spopt-{tag}.json"))
        mo = load_json(os.path.join(d, f"mosaico-{tag}.json"))
        tm = load_json(os.path.join(d, f"mosaico-{tag}.time.json"))
        name = "full" if meta.get("kind") == "full" else f"Milan window, {100 * meta.get('fraction', 0):g}% of the area"
        sp_time = sp_opt = ratio = "—"
        if sp is not None:
            parts = [x for x in (sp.get("matrix_s"), sp.get("build_s")) if x is not None]
            build = sum(parts) if parts else None
            if sp.get("build_s") is None:
                sp_time = f"{fmt_s(sp.get('elapsed_s'))} (build unfinished)"
            else:
                sp_time = f"{fmt_s(sp.get('elapsed_s'))} ({fmt_s(build)} + {fmt_s(sp.get('solve_s'))})"
            if sp.get("exact"):
                sp_opt = f"**{sp['objective']:.0f}**"
            elif sp.get("objective") is not None:
                sp_opt = (f"not proven: best {sp['objective']:.0f}, bound "
                          f"{sp['bound']:.0f}" if sp.get("bound") else f"not proven: best {sp['objective']:.0f}")
            else:
                sp_opt = sp.get("status", "not solved")
        mo_obj = mo_bound = mo_time = "—"
        if mo is not None:
            mo_obj = f"{mo['objective']:.0f}"
            mo_bound = f"{mo['bound']:.0f}" if mo.get("bound") is not None else "—"
            if mo.get("exact"):
                mo_obj += " (exact)"
            if sp is not None and sp.get("objective"):
                r = mo["objective"] / sp["objective"]
                ratio = f"{r:.4f}" if sp.get("exact") else f"{r:.4f} of spopt's best"
        if tm is not None:
            mo_time = f"{fmt_s(tm['mean_s'])} ± {tm['stddev_s']:.2f}" if tm.get("stddev_s") is not None else fmt_s(tm["mean_s"])
        rows.append(f"| {name} | {st.get('points', meta.get('points', '—'))} | "
                    f"{st.get('candidates', meta.get('candidates', '—'))} | {st.get('pairs', '—')} | {a.p} | "
                    f"{a.radius_km:g} km | {sp_time} | {sp_opt} | {mo_time} | {mo_obj} | {mo_bound} | {ratio} |")
    text = "\n".join(rows) + "\n"
    for d in a.dirs:   # the LP bound, where locate.sh computed it (LOCATE_LP_BOUND=1)
        lp = load_json(os.path.join(d, f"highs-lp-{tag}.json"))
        mo = load_json(os.path.join(d, f"mosaico-{tag}.json"))
        if lp is not None and lp.get("bound") is not None:
            text += (f"\n{os.path.basename(os.path.normpath(d))}: LP relaxation bound (HiGHS "
                     f"{lp.get('method', 'ipm')}, {fmt_s(lp['solve_s'])}) {lp['bound']:.0f}")
            if mo is not None:
                text += f"; mosaico objective / LP bound {mo['objective'] / lp['bound']:.4f}"
            text += "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    print(text, end="")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sp = ap.add_subparsers(dest="cmd", required=True)
    g = sp.add_parser("gen")
    g.add_argument("--out", required=True)
    g.add_argument("--points", type=int, default=230000)
    g.add_argument("--candidates", type=int, default=20000)
    g.add_argument("--seed", type=int, default=1)
    s = sp.add_parser("sub")
    s.add_argument("--from", dest="src", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--fraction", type=float, required=True)
    o = sp.add_parser("spopt")
    o.add_argument("--dir", required=True)
    o.add_argument("--p", type=int, default=50)
    o.add_argument("--radius-km", type=float, default=3.0)
    o.add_argument("--time-limit", type=float, default=600.0, help="CBC's limit, seconds")
    o.add_argument("--build-limit", type=float, default=600.0,
                   help="limit on building the dense matrix and spopt's model, seconds (0: none)")
    o.add_argument("--budget", type=float, default=None,
                   help="one limit for the whole run, seconds: overrides --build-limit, and CBC "
                        "gets what is left of it (--time-limit is then ignored)")
    o.add_argument("--out", required=True)
    o.add_argument("--cbc-log", default=None, help="keep CBC's log in this file")
    c = sp.add_parser("check")
    c.add_argument("--dir", required=True)
    c.add_argument("--result", required=True)
    c.add_argument("--radius-km", type=float, default=None, help="default: the result's radius_km")
    h = sp.add_parser("highs")
    h.add_argument("--dir", required=True)
    h.add_argument("--p", type=int, default=50)
    h.add_argument("--radius-km", type=float, default=3.0)
    h.add_argument("--time-limit", type=float, default=600.0)
    h.add_argument("--lp", action="store_true", help="the LP relaxation only: an upper bound")
    h.add_argument("--lp-method", default="highs", help="linprog method: highs, highs-ds, highs-ipm")
    h.add_argument("--out", default=None)
    t = sp.add_parser("stats")
    t.add_argument("--dir", required=True)
    t.add_argument("--radius-km", type=float, default=3.0)
    b = sp.add_parser("table")
    b.add_argument("--p", type=int, default=50)
    b.add_argument("--radius-km", type=float, default=3.0)
    b.add_argument("--out", default=None)
    b.add_argument("dirs", nargs="+")
    a = ap.parse_args()
    {"gen": cmd_gen, "sub": cmd_sub, "spopt": cmd_spopt, "check": cmd_check,
     "stats": cmd_stats, "table": cmd_table, "highs": cmd_highs}[a.cmd](a)


if __name__ == "__main__":
    main()
