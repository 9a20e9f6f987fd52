#!/usr/bin/env bash
# Territorial analytics benchmark: demand plus E2SFCA accessibility per res-9 cell for
# one target (anziani_75 against RSA and CDI places, 3 km), end to end from the warehouse,
# next to the peer pipeline on the same Parquet files: polars read, h3-py cell
# assignment, polars group-by, PySAL `access` E2SFCA. Then the pure group-by (persons
# per res-9 cell, the parent computed with the same bit operations in both engines)
# with `mosaico sql` and with DuckDB. Both pipelines' results are compared cell by cell.
#
#   bench/territory.sh [PERSONS]      (default 2000000)
#
# Needs: a release build (`cargo build --release`), hyperfine, python3 with polars,
# duckdb, h3 and access (`pip install polars duckdb h3 access`). Writes
# bench/results/territory-PERSONS.{md,txt}.
set -euo pipefail
cd "$(dirname "$0")/.."
PERSONS="${1:-2000000}"
BIN="$PWD/target/release/mosaico"
WORK="${BENCH_DIR:-$PWD/data/bench-territory-$PERSONS}"
OUT="$PWD/bench/results"
WH="$WORK/wh"
mkdir -p "$WORK" "$OUT"
export MOSAICO_DATA_DIR="$WORK" MOSAICO_LOG=warn MOSAICO_PSEUDONYM_KEY="benchmark key, not a secret"

if [ ! -f "$WORK/sample/manifest.json" ]; then
  "$BIN" samples generate --seed 1 --persons "$PERSONS" --interventions 300000 --out "$WORK/sample"
fi
if [ ! -d "$WH/facilities" ]; then
  rm -rf "$WH"
  "$BIN" --warehouse "$WH" ingest territory data-samples/reference --quiet
  for s in registry isee facilities cases; do
    f="$WORK/sample/$([ $s = registry ] && echo registry || echo $s).csv"
    "$BIN" --warehouse "$WH" ingest "$s" "$f" --quiet
  done
fi
# One version of each table: the Parquet files in the folders are the tables.
POP="$WH/population/*.parquet"
FAC="$WH/facilities/*.parquet"

QUERY="SELECT count(*) AS cells, sum(potential) AS persons, sum(accessibility * potential) AS weighted FROM accessibility('anziani_75', 'cell', 9, 'e2sfca', 3.0)"
# The pure group-by, persons per res-9 cell: Mosaico with its h3_parent function; DuckDB
# (no H3 extension offline) with the parent by bits: resolution field (bits 52–55) to 9,
# digit 10 (bits 15–17) to 7. And the group-by per stored res-10 cell in both.
GROUPBY_DF="SELECT count(*) FROM (SELECT h3_parent(h3_10, 9) AS cell, count(*) AS n FROM population WHERE h3_10 IS NOT NULL GROUP BY 1)"
GROUPBY_DUCK="SELECT count(*) FROM (SELECT (h3_10 & CAST('18379190079298994175' AS UBIGINT)) | CAST(40532396646334464 AS UBIGINT) | CAST(229376 AS UBIGINT) AS cell, count(*) AS n FROM read_parquet('$POP') WHERE h3_10 IS NOT NULL GROUP BY 1)"
GROUPBY10_DF="SELECT count(*) FROM (SELECT h3_10, count(*) AS n FROM population GROUP BY 1)"
GROUPBY10_DUCK="SELECT count(*) FROM (SELECT h3_10, count(*) AS n FROM read_parquet('$POP') GROUP BY 1)"

cat > "$WORK/peer.py" <<PY
# The peer pipeline: polars + h3-py + PySAL access, on the warehouse's Parquet files.
import sys
import h3.api.basic_int as h3
import numpy as np
import pandas as pd
import polars as pl
from access import Access, weights

persons = pl.scan_parquet("$POP").filter(pl.col("age") >= 75).select("h3_10").drop_nulls().collect()
cells = [h3.cell_to_parent(c, 9) for c in persons["h3_10"].to_list()]          # h3-py cell assignment
demand = pl.DataFrame({"cell": cells}, schema={"cell": pl.UInt64}).group_by("cell").len(name="n")
fac = (pl.scan_parquet("$FAC").filter(pl.col("facility_type").is_in(["RSA", "CDI"]))
       .select("h3_10", "capacity").drop_nulls().collect())
fac = fac.with_columns(pl.Series("cell", [h3.cell_to_parent(c, 9) for c in fac["h3_10"].to_list()], dtype=pl.UInt64))
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

A = Access(demand_df=d, demand_index="cell", demand_value="n",
           supply_df=s, supply_index="cell", supply_value="places",
           cost_df=costs, cost_origin="origin", cost_dest="dest", cost_name="km")
A.enhanced_two_stage_fca(name="e2sfca", max_cost=3.0, weight_fn=weights.step_fn({1.0: 1, 2.0: 0.68, 3.0: 0.22}))
out = A.access_df  # indexed by cell, with the demand column n
col = [c for c in out.columns if c.startswith("e2sfca")][0]
if len(sys.argv) > 1:
    out[[col, "n"]].rename(columns={col: "accessibility"}).to_csv(sys.argv[1])
print(len(out), int(out["n"].sum()), float((out[col].fillna(0) * out["n"]).sum()))
PY

cat > "$WORK/duckdb_groupby.py" <<'PY'
# A query in DuckDB, timed in-process like `mosaico sql --repeat`.
import duckdb, sys, time
con = duckdb.connect()
times = []
for _ in range(21):
    t = time.perf_counter(); r = con.sql(sys.argv[1]).fetchall(); times.append((time.perf_counter() - t) * 1e3)
times = sorted(times)
print(f"{r[0][0]} groups; 21 runs: min {times[0]:.1f} ms, median {times[10]:.1f} ms, max {times[-1]:.1f} ms")
PY

# Agreement, cell by cell, before timing anything.
MOSAICO_SUPPRESSION_THRESHOLD=1 "$BIN" --warehouse "$WH" sql --format csv --out "$WORK/ours.csv" \
  "SELECT hex_id, potential, accessibility FROM accessibility('anziani_75', 'cell', 9, 'e2sfca', 3.0)"
python3 "$WORK/peer.py" "$WORK/peer.csv" > /dev/null
python3 - "$WORK/ours.csv" "$WORK/peer.csv" > "$WORK/agreement.txt" <<'PY'
import sys, pandas as pd
ours, peer = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
ours["cell"] = ours["hex_id"].map(lambda h: int(h, 16))
m = ours.merge(peer, on="cell", suffixes=("_ours", "_peer"))
assert len(m) == len(ours) == len(peer), (len(m), len(ours), len(peer))
assert (m["potential"] == m["n"]).all()
diff = (m["accessibility_ours"].fillna(-1) - m["accessibility_peer"].fillna(-1)).abs().max()
print(f"agreement: {len(m)} cells, same demand in every cell, max |Δ accessibility| = {diff:.3e}")
assert diff < 1e-9
PY
cat "$WORK/agreement.txt"

hyperfine --warmup 1 --runs 5 --export-markdown "$OUT/territory-$PERSONS.md" \
  -n "mosaico: demand + E2SFCA" "$BIN --warehouse $WH sql \"$QUERY\"" \
  -n "peer: polars + h3-py + PySAL access" "python3 $WORK/peer.py"

{
  cat "$WORK/agreement.txt"
  echo "pure group-by, in-process (engine time, no start-up):"
  echo "  per res-9 cell,  mosaico sql: $("$BIN" --warehouse "$WH" sql --repeat 21 "$GROUPBY_DF" 2>&1 >/dev/null)"
  echo "  per res-9 cell,  duckdb:      $(python3 "$WORK/duckdb_groupby.py" "$GROUPBY_DUCK")"
  echo "  per res-10 cell, mosaico sql: $("$BIN" --warehouse "$WH" sql --repeat 21 "$GROUPBY10_DF" 2>&1 >/dev/null)"
  echo "  per res-10 cell, duckdb:      $(python3 "$WORK/duckdb_groupby.py" "$GROUPBY10_DUCK")"
  echo "demand + E2SFCA, in-process: $("$BIN" --warehouse "$WH" sql --repeat 11 "$QUERY" 2>&1 >/dev/null)"
  echo "persons: $PERSONS; population files: $(ls $POP | wc -l), $(du -cb $POP | tail -1 | cut -f1) bytes"
  "$BIN" --warehouse "$WH" sql "$QUERY"
  python3 "$WORK/peer.py"
} > "$OUT/territory-$PERSONS.txt" 2>&1
cat "$OUT/territory-$PERSONS.md" "$OUT/territory-$PERSONS.txt"
