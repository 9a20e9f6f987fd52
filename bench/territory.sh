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

# The peer pipeline (polars + h3-py + PySAL access) is bench/peers.py e2sfca, shared with bench/bench.py.
PEER="python3 $PWD/bench/peers.py e2sfca $WH"

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
$PEER "$WORK/peer.csv" > /dev/null
python3 bench/peers.py compare-e2sfca "$WORK/ours.csv" "$WORK/peer.csv" > "$WORK/agreement.txt"
cat "$WORK/agreement.txt"

hyperfine --warmup 1 --runs 5 --export-markdown "$OUT/territory-$PERSONS.md" \
  -n "mosaico: demand + E2SFCA" "$BIN --warehouse $WH sql \"$QUERY\"" \
  -n "peer: polars + h3-py + PySAL access" "$PEER"

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
  $PEER
} > "$OUT/territory-$PERSONS.txt" 2>&1
cat "$OUT/territory-$PERSONS.md" "$OUT/territory-$PERSONS.txt"
