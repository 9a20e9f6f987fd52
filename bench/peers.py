#!/usr/bin/env python3
"""The peer tools' side of the benchmark suite, run in its venv by bench/bench.py.

  peers.py csv2parquet {polars,duckdb} CSV OUT          a plain conversion, no checks
  peers.py groupby {duckdb,polars} WH QUERY RUNS        in-process, prints JSON timings
  peers.py e2sfca WH [OUT.csv]                          polars + h3-py + PySAL access
  peers.py pdz WH YEAR RUNS                             the Piano di Zona's core table, DuckDB
  peers.py mclp-instance CSV DIR                        demand/candidates CSV for locate

WH is a warehouse folder; every table in it has been written once (one version), so the
Parquet files in a table's folder are the table.
"""
import json
import sys
import time


def files(wh, table):
    return f"{wh}/{table}/*.parquet"


def timed(fn, runs):
    out, times = None, []
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return out, {"runs": runs, "min_ms": times[0], "median_ms": times[len(times) // 2], "max_ms": times[-1]}


# The in-process group-bys. Each returns a small checksum (groups, total) compared with
# Mosaico's answer to the same question.
GROUPBYS = {
    # Residents per NIL: population (res-10 cell) joined with the cells table.
    "residents_per_nil": {
        "duckdb": """select count(*), sum(n) from (select c.nil_id, count(*) as n
            from read_parquet('{population}') p join read_parquet('{cells}') c
            on c.cell = p.h3_10 and c.res = 10 where c.nil_id is not null group by c.nil_id)""",
    },
    # Spending by area di utenza, three sums over every intervention row.
    "spending_by_area": {
        "duckdb": """select count(*), sum(ente) from (select area_utenza, sum(quota_ente_eur) as ente,
            sum(quota_utente_eur), sum(quota_ssn_eur) from read_parquet('{interventions}') group by area_utenza)""",
    },
    # Persons per res-9 cell, the parent by bits (DuckDB has no H3 offline): resolution
    # field (bits 52–55) to 9, digit 10 (bits 15–17) to 7.
    "persons_per_res9": {
        "duckdb": """select count(*), sum(n) from (select (h3_10 & CAST('18379190079298994175' AS UBIGINT))
            | CAST(40532396646334464 AS UBIGINT) | CAST(229376 AS UBIGINT) as cell, count(*) as n
            from read_parquet('{population}') where h3_10 is not null group by 1)""",
    },
}


def groupby(tool, wh, name, runs):
    paths = {t: files(wh, t) for t in ("population", "cells", "interventions")}
    if tool == "duckdb":
        import duckdb

        con = duckdb.connect()
        sql = GROUPBYS[name]["duckdb"].format(**paths)
        row, t = timed(lambda: con.sql(sql).fetchall()[0], runs)
        return {"groups": int(row[0]), "total": float(row[1]), **t}
    import polars as pl

    if name == "residents_per_nil":
        def q():
            c = pl.scan_parquet(paths["cells"]).filter(pl.col("res") == 10).select("cell", "nil_id")
            p = pl.scan_parquet(paths["population"]).select("h3_10")
            g = (p.join(c, left_on="h3_10", right_on="cell").filter(pl.col("nil_id").is_not_null())
                 .group_by("nil_id").agg(pl.len().alias("n")).collect())
            return len(g), g["n"].sum()
    elif name == "spending_by_area":
        def q():
            g = (pl.scan_parquet(paths["interventions"]).group_by("area_utenza")
                 .agg(pl.col("quota_ente_eur").sum(), pl.col("quota_utente_eur").sum(), pl.col("quota_ssn_eur").sum())
                 .collect())
            return len(g), g["quota_ente_eur"].sum()
    else:
        def q():
            mask, res9, digit = 18379190079298994175, 40532396646334464, 229376
            cell = (pl.col("h3_10").cast(pl.UInt64) & pl.lit(mask, pl.UInt64)) | pl.lit(res9 | digit, pl.UInt64)
            g = (pl.scan_parquet(paths["population"]).select("h3_10").drop_nulls()
                 .group_by(cell.alias("cell")).agg(pl.len().alias("n")).collect())
            return len(g), g["n"].sum()
    (groups, total), t = timed(q, runs)
    return {"groups": int(groups), "total": float(total), **t}


def e2sfca(wh, out=None):
    """Demand of anziani_75 (aged 75+) per res-9 cell against RSA and CDI places, E2SFCA
    within 3 km between cell centres, steps {1: 1, 2: 0.68, 3: 0.22} km."""
    import h3.api.basic_int as h3
    import numpy as np
    import pandas as pd
    import polars as pl
    from access import Access, weights

    persons = pl.scan_parquet(files(wh, "population")).filter(pl.col("age") >= 75).select("h3_10").drop_nulls().collect()
    cells = [h3.cell_to_parent(int(c), 9) for c in persons["h3_10"].to_list()]
    demand = pl.DataFrame({"cell": cells}, schema={"cell": pl.UInt64}).group_by("cell").len(name="n")
    fac = (pl.scan_parquet(files(wh, "facilities")).filter(pl.col("facility_type").is_in(["RSA", "CDI"]))
           .select("h3_10", "capacity").drop_nulls().collect())
    fac = fac.with_columns(pl.Series("cell", [h3.cell_to_parent(int(c), 9) for c in fac["h3_10"].to_list()], dtype=pl.UInt64))
    supply = fac.group_by("cell").agg(pl.col("capacity").sum().alias("places"))

    d, s = pd.DataFrame(demand.to_dict(as_series=False)), pd.DataFrame(supply.to_dict(as_series=False))
    dc = np.array([h3.cell_to_latlng(int(c)) for c in d["cell"]])
    sc = np.array([h3.cell_to_latlng(int(c)) for c in s["cell"]])
    la1, lo1 = np.radians(dc[:, 0])[:, None], np.radians(dc[:, 1])[:, None]
    la2, lo2 = np.radians(sc[:, 0])[None, :], np.radians(sc[:, 1])[None, :]
    hav = np.sin((la2 - la1) / 2) ** 2 + np.cos(la1) * np.cos(la2) * np.sin((lo2 - lo1) / 2) ** 2
    km = 2 * 6371.0088 * np.arcsin(np.minimum(1.0, np.sqrt(hav)))
    i, j = np.nonzero(km < 3.0)
    costs = pd.DataFrame({"origin": d["cell"].values[i], "dest": s["cell"].values[j], "km": km[i, j]})
    a = Access(demand_df=d, demand_index="cell", demand_value="n",
               supply_df=s, supply_index="cell", supply_value="places",
               cost_df=costs, cost_origin="origin", cost_dest="dest", cost_name="km")
    a.enhanced_two_stage_fca(name="e2sfca", max_cost=3.0, weight_fn=weights.step_fn({1.0: 1, 2.0: 0.68, 3.0: 0.22}))
    res = a.access_df
    col = [c for c in res.columns if c.startswith("e2sfca")][0]
    if out:
        res[[col, "n"]].rename(columns={col: "accessibility"}).to_csv(out)
    return len(res), int(res["n"].sum())


def compare_e2sfca(ours_csv, peer_csv):
    import pandas as pd

    ours, peer = pd.read_csv(ours_csv), pd.read_csv(peer_csv)
    ours["cell"] = ours["hex_id"].map(lambda h: int(h, 16))
    m = ours.merge(peer, on="cell", suffixes=("_ours", "_peer"))
    assert len(m) == len(ours) == len(peer), f"cells differ: {len(m)} joined, {len(ours)} ours, {len(peer)} peer"
    assert (m["potential"] == m["n"]).all(), "demand differs in some cell"
    diff = float((m["accessibility_ours"].fillna(-1) - m["accessibility_peer"].fillna(-1)).abs().max())
    assert diff < 1e-9, f"accessibility differs by {diff}"
    return {"cells": len(m), "persons": int(m["n"].sum()), "max_abs_diff": diff}


def pdz(wh, year, runs):
    """The Piano di Zona's core table as an analyst would write it in DuckDB: users
    (distinct persons with an intervention running in the year) and spending (rows
    starting in the year) by area di utenza and type of service, with the quota split."""
    import duckdb

    con = duckdb.connect()
    sql = f"""
      with i as (select * from read_parquet('{files(wh, "interventions")}'))
      select u.area_utenza, u.spending_type, u.users, s.ente, s.utente, s.ssn from
        (select area_utenza, spending_type, count(distinct person_key) as users from i
          where start_date <= DATE '{year}-12-31' and end_date >= DATE '{year}-01-01'
          group by all) u
        left join (select area_utenza, spending_type, sum(quota_ente_eur) as ente, sum(quota_utente_eur) as utente,
          sum(quota_ssn_eur) as ssn from i where year(start_date) = {year} group by all) s
        using (area_utenza, spending_type)
    """
    rows, t = timed(lambda: con.sql(sql).fetchall(), runs)
    return {"rows": len(rows), "users": int(sum(r[2] for r in rows)), **t}


def mclp_instance(csv_path, out_dir):
    """The demand of a target per res-9 cell (Mosaico's CSV: hex_id, potential) as MCLP
    points; every cell with demand is also a candidate site."""
    import os

    import h3
    import pandas as pd

    d = pd.read_csv(csv_path)
    d = d[d["potential"] > 0].reset_index(drop=True)
    ll = [h3.cell_to_latlng(h) for h in d["hex_id"]]
    os.makedirs(out_dir, exist_ok=True)
    pts = pd.DataFrame({"id": range(len(d)), "lat": [p[0] for p in ll], "lon": [p[1] for p in ll],
                        "weight": d["potential"].astype(int)})
    pts.to_csv(f"{out_dir}/demand.csv", index=False)
    pts[["id", "lat", "lon"]].to_csv(f"{out_dir}/candidates.csv", index=False)
    return {"points": len(pts), "candidates": len(pts), "weight": int(pts["weight"].sum())}


def main(argv):
    cmd = argv[0]
    if cmd == "csv2parquet":
        tool, csv, out = argv[1:4]
        if tool == "polars":
            import polars as pl

            pl.scan_csv(csv, infer_schema_length=10000).sink_parquet(out)
        else:
            import duckdb

            duckdb.sql(f"copy (select * from read_csv('{csv}')) to '{out}' (format parquet)")
        return None
    if cmd == "groupby":
        return groupby(argv[1], argv[2], argv[3], int(argv[4]))
    if cmd == "e2sfca":
        cells, persons = e2sfca(argv[1], argv[2] if len(argv) > 2 else None)
        return {"cells": cells, "persons": persons}
    if cmd == "compare-e2sfca":
        return compare_e2sfca(argv[1], argv[2])
    if cmd == "pdz":
        return pdz(argv[1], int(argv[2]), int(argv[3]))
    if cmd == "mclp-instance":
        return mclp_instance(argv[1], argv[2])
    raise SystemExit(f"unknown command {cmd!r}; see the docstring")


if __name__ == "__main__":
    result = main(sys.argv[1:])
    if result is not None:
        print(json.dumps(result))
