# %% [markdown]
# # Residents per NIL: warehouse against the Comune's figures
#
# Reads the platform's own output (`mosaico sql --format csv`) and sets it beside the
# published NIL populations. The sample is a scaled-down Milan, so shares are compared.

# %%
import csv
import io
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERY = """
select c.nil_id, c.nil_name, count(*) as residents
from population p join cells c on c.cell = p.h3_10 and c.res = 10
where c.nil_id is not null
group by c.nil_id, c.nil_name order by c.nil_id
"""
out = subprocess.run(
    ["cargo", "run", "--release", "-q", "--", "sql", QUERY, "--format", "csv"],
    cwd=ROOT, check=True, capture_output=True, text=True,
).stdout
rows = list(csv.DictReader(io.StringIO(out)))

# %%
profiles = json.loads((ROOT / "data-samples/reference/milanoplatform_nil2030_profili.json").read_text())
real = {p["id_nil"]: p["popolazione_totale"] for p in profiles}
total_sample = sum(int(r["residents"]) for r in rows)
total_real = sum(real.values())
print(f"{'NIL':<45} {'sample %':>9} {'Comune %':>9}")
for r in rows:
    nil = int(r["nil_id"])
    print(f"{r['nil_name'][:45]:<45} {100 * int(r['residents']) / total_sample:9.2f} {100 * real[nil] / total_real:9.2f}")
