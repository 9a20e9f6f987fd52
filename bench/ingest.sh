#!/usr/bin/env bash
# Ingest benchmark: a civil-registry CSV of PERSONS rows to a validated, pseudonymised,
# H3-tagged Delta table with `mosaico ingest registry`, next to a plain CSV → Parquet
# conversion of the same file with polars and with DuckDB, in the same run.
#
#   bench/ingest.sh [PERSONS]      (default 2000000)
#
# Needs: a release build (`cargo build --release`), hyperfine, GNU time, python3 with
# duckdb and polars. Writes bench/results/ingest-registry-PERSONS.{md,txt}.
set -euo pipefail
cd "$(dirname "$0")/.."
PERSONS="${1:-2000000}"
BIN="$PWD/target/release/mosaico"
WORK="${BENCH_DIR:-$PWD/data/bench-ingest-$PERSONS}"
OUT="$PWD/bench/results"
mkdir -p "$WORK" "$OUT"
export MOSAICO_DATA_DIR="$WORK" MOSAICO_LOG=warn MOSAICO_PSEUDONYM_KEY="benchmark key, not a secret"
CSV="$WORK/sample/registry.csv"

if [ ! -f "$WORK/sample/manifest.json" ]; then
  "$BIN" samples generate --seed 1 --persons "$PERSONS" --interventions 1 --out "$WORK/sample"
fi
# A warehouse holding the territory (cells), copied fresh before each timed run so that
# every run loads (a second load of the same file would be skipped as unchanged).
if [ ! -d "$WORK/base/cells" ]; then
  "$BIN" --warehouse "$WORK/base" ingest territory data-samples/reference --quiet
fi
ls -l "$CSV"

cat > "$WORK/polars_csv_to_parquet.py" <<PY
import polars as pl
pl.scan_csv('$CSV', infer_schema_length=10000).sink_parquet('$WORK/polars.parquet')
PY
cat > "$WORK/duckdb_csv_to_parquet.py" <<PY
import duckdb
duckdb.sql("copy (select * from read_csv('$CSV')) to '$WORK/duckdb.parquet' (format parquet)")
PY

hyperfine --warmup 1 --runs 5 --export-markdown "$OUT/ingest-registry-$PERSONS.md" \
  --prepare "rm -rf $WORK/wh && cp -r $WORK/base $WORK/wh" \
  -n "mosaico ingest registry" "$BIN --warehouse $WORK/wh ingest registry $CSV --quiet" \
  -n "polars csv→parquet" "python3 $WORK/polars_csv_to_parquet.py" \
  -n "duckdb csv→parquet" "python3 $WORK/duckdb_csv_to_parquet.py"

# Peak memory of one run of each.
{
  for name in mosaico polars duckdb; do
    rm -rf "$WORK/wh" && cp -r "$WORK/base" "$WORK/wh"
    case $name in
      mosaico) cmd=("$BIN" --warehouse "$WORK/wh" ingest registry "$CSV" --quiet) ;;
      polars) cmd=(python3 "$WORK/polars_csv_to_parquet.py") ;;
      duckdb) cmd=(python3 "$WORK/duckdb_csv_to_parquet.py") ;;
    esac
    /usr/bin/time -f "$name: %e s, peak RSS %M KiB" "${cmd[@]}" > /dev/null
  done
  echo "input: $(stat -c %s "$CSV") bytes, $PERSONS rows"
} 2> "$OUT/ingest-registry-$PERSONS.txt"
cat "$OUT/ingest-registry-$PERSONS.txt"
