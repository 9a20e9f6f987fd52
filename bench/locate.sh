#!/usr/bin/env bash
# Location-optimisation benchmark: the maximal covering location problem (MCLP: open p
# sites among the candidates, maximise the demand weight within the radius, haversine
# km, covered when d <= radius) on a synthetic Lombardy-scale instance — 230,000 weighted
# demand points on a ~0.44 km grid, 20,000 candidate sites, p = 50, 3 km — with
# `mosaico locate` (heuristic with a proven upper bound), and, on windows around Milan of
# growing size (same grid and candidate density, same p and radius), next to the exact
# optimum from PySAL spopt (MCLP.from_cost_matrix + CBC through pulp). The walk stops
# after the first window spopt does not prove optimal within the budget; that window is
# still reported (CBC's best and its bound next to ours). Every result, ours and spopt's,
# is re-scored from the CSVs by `locate.py check`.
#
#   bench/locate.sh
#
# Environment (all optional): LOCATE_POINTS (230000), LOCATE_CANDIDATES (20000),
# LOCATE_P (50), LOCATE_RADIUS_KM (3), LOCATE_FRACTIONS (window areas as fractions of the
# full box, "0.005 0.01 0.015 0.02 0.03 0.05"), LOCATE_TIME_LIMIT (600: spopt's budget per
# window in seconds, for everything — dense matrix, model build, CBC — CBC gets what the
# build leaves), LOCATE_MOSAICO_ARGS (extra flags for `mosaico locate`), MOSAICO_BIN
# (target/release/mosaico), BENCH_DIR (data/bench-locate), BENCH_RESULTS (bench/results),
# LOCATE_LP_BOUND=1 (also the LP relaxation bound of the full instance with HiGHS, ~5
# minutes, once: kept in BENCH_DIR).
# Quick run:
#   LOCATE_POINTS=20000 LOCATE_CANDIDATES=2000 LOCATE_FRACTIONS="0.05 0.1" LOCATE_TIME_LIMIT=60 bench/locate.sh
#
# Runtime: instance generation ~2 s; per instance 1 checked + 3 timed mosaico runs; spopt
# a few seconds to a minute on each window it solves (0.5–1.5%: 4 s, 17 s, 36 s) plus one
# whole budget on the first it does not (2%: build ~1 min, then CBC until the budget is
# spent): about 12–15 minutes in all with the defaults. Bounded by (number of fractions)
# × (LOCATE_TIME_LIMIT + 210 s) plus mosaico's runs (CBC can overrun its limit by a minute
# at the root; `timeout` kills a run at the budget + 180 s).
#
# Needs: a release build (`cargo build --release`), python3 with numpy, pandas, scipy,
# spopt and pulp (`pip install spopt pulp`; pulp brings CBC), hyperfine (else a plain loop
# of 3 runs). Writes bench/results/locate.{md,txt} (locate-p<P>-r<R>[-<points>-<candidates>]
# .{md,txt} for other settings; BENCH_RESULTS moves them); instances and per-run JSON
# (spopt-*.json, mosaico-*.json, cbc-*.log) under BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${MOSAICO_BIN:-$PWD/target/release/mosaico}"
PY="python3 $PWD/bench/locate.py"
WORK="${BENCH_DIR:-$PWD/data/bench-locate}"
OUT="${BENCH_RESULTS:-$PWD/bench/results}"
POINTS="${LOCATE_POINTS:-230000}"
CANDIDATES="${LOCATE_CANDIDATES:-20000}"
P="${LOCATE_P:-50}"
RADIUS="${LOCATE_RADIUS_KM:-3}"
FRACTIONS="${LOCATE_FRACTIONS:-0.005 0.01 0.015 0.02 0.03 0.05}"
LIMIT="${LOCATE_TIME_LIMIT:-600}"
EXTRA="${LOCATE_MOSAICO_ARGS:-}"
TAG="p$P-r$(python3 -c "import sys; print(f'{float(sys.argv[1]):g}')" "$RADIUS")"   # as locate.py names it
if [ "$POINTS" = 230000 ] && [ "$CANDIDATES" = 20000 ]; then NAME=full; else NAME="full-$POINTS-$CANDIDATES"; fi
FULL="$WORK/$NAME"
# The default setting writes locate.{md,txt}; others get their own names.
RES=locate; [ "$TAG" = p50-r3 ] || RES="locate-$TAG"
[ "$NAME" = full ] || RES="$RES-$POINTS-$CANDIDATES"
LOG="$OUT/$RES.txt"
mkdir -p "$WORK" "$OUT"
: > "$LOG"
log() { echo "$@" | tee -a "$LOG"; }

[ -x "$BIN" ] || { echo "no $BIN: cargo build --release first" >&2; exit 1; }
if [ ! -f "$FULL/meta.json" ]; then
  $PY gen --out "$FULL" --points "$POINTS" --candidates "$CANDIDATES" --seed 1 | tee -a "$LOG"
fi

# mosaico on DIR: one run checked against the CSVs, then 3 timed runs (hyperfine, or a
# plain loop), the mean and standard deviation in DIR/mosaico-TAG.time.json.
mosaico() {
  local dir="$1" res="$1/mosaico-$TAG.json"
  # shellcheck disable=SC2086
  local cmd="$BIN locate --demand $dir/demand.csv --candidates $dir/candidates.csv --model mclp --p $P --radius-km $RADIUS --out $res $EXTRA"
  log "\$ $cmd"
  $cmd 2>&1 | tee -a "$LOG"
  $PY check --dir "$dir" --result "$res" 2>&1 | tee -a "$LOG" || log "CHECK FAILED for $res"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r.pop("sites",None); print(json.dumps(r))' "$res" | tee -a "$LOG"
  if command -v hyperfine > /dev/null; then
    hyperfine --style basic --runs 3 --export-json "$dir/hyperfine-$TAG.json" -n "mosaico locate $(basename "$dir")" "$cmd" 2>&1 | tee -a "$LOG"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; json.dump(dict(mean_s=r["mean"], stddev_s=r["stddev"], runs=len(r["times"])), open(sys.argv[2],"w"))' \
      "$dir/hyperfine-$TAG.json" "$dir/mosaico-$TAG.time.json"
  else
    local times=() t0
    for _ in 1 2 3; do
      t0=$(date +%s.%N); $cmd > /dev/null 2>&1; times+=("$(python3 -c "print(round($(date +%s.%N) - $t0, 3))")")
    done
    python3 -c 'import json,sys,statistics as s; t=[float(x) for x in sys.argv[2:]]; json.dump(dict(mean_s=s.mean(t), stddev_s=s.stdev(t), runs=len(t)), open(sys.argv[1],"w"))' \
      "$dir/mosaico-$TAG.time.json" "${times[@]}"
    log "3 runs: ${times[*]} s"
  fi
}

log "== $NAME: $(tr -d '\n ' < "$FULL/meta.json")"
$PY stats --dir "$FULL" --radius-km "$RADIUS" | tee -a "$LOG"
mosaico "$FULL"
if [ "${LOCATE_LP_BOUND:-0}" = 1 ] && [ ! -f "$FULL/highs-lp-$TAG.json" ]; then
  # A reference, not a peer: the LP relaxation's upper bound on the full instance (~5 min).
  $PY highs --dir "$FULL" --p "$P" --radius-km "$RADIUS" --lp --lp-method highs-ipm --time-limit 1200 \
    --out "$FULL/highs-lp-$TAG.json" 2>&1 | tee -a "$LOG"
fi
DIRS=("$FULL")

for F in $FRACTIONS; do
  SUB="$WORK/$NAME-f$F"
  [ -f "$SUB/meta.json" ] || $PY sub --from "$FULL" --out "$SUB" --fraction "$F" > /dev/null
  log "== window $F: $(tr -d '\n ' < "$SUB/meta.json")"
  $PY stats --dir "$SUB" --radius-km "$RADIUS" | tee -a "$LOG"
  if [ "${LOCATE_REUSE_SPOPT:-0}" = 1 ] && [ -f "$SUB/spopt-$TAG.json" ]; then
    log "spopt: reusing $SUB/spopt-$TAG.json (LOCATE_REUSE_SPOPT=1)"
  else
    rm -f "$SUB/spopt-$TAG.json"
    # The budget is enforced inside (build alarm, CBC's -sec); timeout is the backstop.
    timeout -k 30 $((LIMIT + 180)) $PY spopt --dir "$SUB" --p "$P" --radius-km "$RADIUS" --budget "$LIMIT" \
      --out "$SUB/spopt-$TAG.json" --cbc-log "$SUB/cbc-$TAG.log" 2>&1 | tee -a "$LOG" || log "spopt exited with an error"
  fi
  DIRS+=("$SUB")
  if [ -f "$SUB/spopt-$TAG.json" ] && python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r.get("objective") is not None else 1)' "$SUB/spopt-$TAG.json"; then
    $PY check --dir "$SUB" --result "$SUB/spopt-$TAG.json" 2>&1 | tee -a "$LOG" || log "CHECK FAILED for spopt on $SUB"
  fi
  mosaico "$SUB"
  if ! python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("exact") else 1)' "$SUB/spopt-$TAG.json" 2> /dev/null; then
    log "spopt did not prove the optimum of window $F within $LIMIT s: stopping here"
    break
  fi
done

$PY table --p "$P" --radius-km "$RADIUS" --out "$OUT/$RES.md" "${DIRS[@]}"
{
  echo
  echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; spopt $(python3 -c 'import spopt; print(spopt.__version__)'), pulp $(python3 -c 'import pulp; print(pulp.__version__)') with its bundled CBC; spopt budget $LIMIT s per window (matrix + model build + CBC)."
} >> "$OUT/$RES.md"
cat "$OUT/$RES.md" >> "$LOG"
