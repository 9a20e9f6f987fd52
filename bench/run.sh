#!/usr/bin/env bash
# Foundation benchmarks: generate and load a Milan-sized sample, then run the same
# queries with `mosaico sql` and, side by side on the same Parquet files, DuckDB and polars.
#
#   bench/run.sh [PERSONS]      (default 2000000; interventions follow at five per person)
#
# Needs: a release build (`cargo build --release`), hyperfine, python3 with duckdb and polars
# (`pip install duckdb polars`). Writes bench/results/*.md; BENCHMARKS.md quotes them.
set -euo pipefail
cd "$(dirname "$0")/.."
PERSONS="${1:-2000000}"
BIN="$PWD/target/release/mosaico"
WORK="${BENCH_DIR:-$PWD/data/bench-$PERSONS}"
OUT="$PWD/bench/results"
mkdir -p "$WORK" "$OUT"
export MOSAICO_DATA_DIR="$WORK" MOSAICO_LOG=warn

if [ ! -f "$WORK/sample/manifest.json" ]; then
  hyperfine --runs 1 --export-markdown "$OUT/generate-$PERSONS.md" -n "generate $PERSONS persons" \
    "$BIN samples generate --seed 1 --persons $PERSONS --out $WORK/sample"
fi
if [ ! -d "$WORK/warehouse/population" ]; then
  hyperfine --runs 1 --export-markdown "$OUT/load-$PERSONS.md" -n "load $PERSONS persons" \
    "$BIN --warehouse $WORK/warehouse load $WORK/sample"
fi
cat "$WORK/sample/manifest.json"

WH="$WORK/warehouse"
# The Parquet files of the current version of each table (each table is written once here).
pq() { echo "$WH/$1/*.parquet"; }

q1_sql="select c.nil_name, count(*) as residents from population p join cells c on c.cell = p.h3_10 and c.res = 10 where c.nil_id is not null group by c.nil_name order by residents desc"
q2_sql="select area_utenza, sum(quota_ente_eur) as ente, sum(quota_utente_eur) as utente, sum(quota_ssn_eur) as ssn from interventions group by area_utenza order by ente desc"

cat > "$WORK/q1_duckdb.py" <<PY
import duckdb
duckdb.sql("""select c.nil_name, count(*) as residents from read_parquet('$(pq population)') p
  join read_parquet('$(pq cells)') c on c.cell = p.h3_10 and c.res = 10 where c.nil_id is not null
  group by c.nil_name order by residents desc""").fetchall()
PY
cat > "$WORK/q1_polars.py" <<PY
import polars as pl
p = pl.scan_parquet('$(pq population)')
c = pl.scan_parquet('$(pq cells)').filter(pl.col('res') == 10)
(p.join(c, left_on='h3_10', right_on='cell').filter(pl.col('nil_id').is_not_null())
  .group_by('nil_name').agg(pl.len().alias('residents')).sort('residents', descending=True).collect())
PY
cat > "$WORK/q2_duckdb.py" <<PY
import duckdb
duckdb.sql("""select area_utenza, sum(quota_ente_eur), sum(quota_utente_eur), sum(quota_ssn_eur)
  from read_parquet('$(pq interventions)') group by area_utenza order by 2 desc""").fetchall()
PY
cat > "$WORK/q2_polars.py" <<PY
import polars as pl
(pl.scan_parquet('$(pq interventions)').group_by('area_utenza')
  .agg(pl.col('quota_ente_eur').sum(), pl.col('quota_utente_eur').sum(), pl.col('quota_ssn_eur').sum())
  .sort('quota_ente_eur', descending=True).collect())
PY

hyperfine --warmup 1 --runs 5 --export-markdown "$OUT/q1-residents-per-nil-$PERSONS.md" \
  -n mosaico "$BIN --warehouse $WH sql \"$q1_sql\" --format csv" \
  -n duckdb "python3 $WORK/q1_duckdb.py" \
  -n polars "python3 $WORK/q1_polars.py"
hyperfine --warmup 1 --runs 5 --export-markdown "$OUT/q2-spending-by-area-$PERSONS.md" \
  -n mosaico "$BIN --warehouse $WH sql \"$q2_sql\" --format csv" \
  -n duckdb "python3 $WORK/q2_duckdb.py" \
  -n polars "python3 $WORK/q2_polars.py"
# Start-up cost of each tool on its own, to read the figures above fairly.
hyperfine --warmup 1 --runs 5 --export-markdown "$OUT/startup.md" \
  -n mosaico "$BIN --warehouse $WH sql 'select 1' --format csv" \
  -n duckdb "python3 -c 'import duckdb; duckdb.sql(\"select 1\").fetchall()'" \
  -n polars "python3 -c 'import polars'"
