"""Summary table of the benchmark JSON files in one results folder:
wamd vs Baileys figures and their ratio. Writes summary.json beside them."""
import json
import os
import sys

res = sys.argv[1]


def load(name):
    path = os.path.join(res, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


rows = []
w, b = load("signal_rate_wamd.json"), load("signal_rate_baileys.json")
if w and b:
    wd = w["modes"]["disk"]
    for key, label, better in [
        ("one_way_per_s", "1:1 msg/s/core, one direction", "higher"),
        ("alternating_per_s", "1:1 msg/s/core, DH step every message", "higher"),
        ("first_1k_per_s", "alternating, first 1,000 msg/s", "higher"),
        ("last_1k_per_s", "alternating, last 1,000 of 10,000 msg/s", "higher"),
        ("late_over_early", "late / early rate", "higher"),
        ("session_record_bytes", "session record after 10,000 msgs (bytes)", "lower"),
    ]:
        rows.append((label, wd[key], b[key], better))
    # wamd with GROUP messages per commit (offline-queue drain); Baileys'
    # in-memory store never commits, so this is the closer comparison
    wb = w.get("batched", {}).get("disk")
    if wb:
        g = w.get("group", 100)
        rows.append((f"one direction, {g} msgs per commit", wb["one_way_per_s"], b["one_way_per_s"], "higher"))
        rows.append((f"DH step every msg, {g} msgs per commit", wb["alternating_per_s"], b["alternating_per_s"],
                     "higher"))

print(f"{'benchmark':<45} {'wamd':>12} {'Baileys':>12} {'ratio':>8}")
print("(wamd rows without 'per commit': one durable SQLite commit per message on each side)")
for label, wv, bv, better in rows:
    ratio = (wv / bv if better == "higher" else bv / wv) if bv and wv else float("nan")
    print(f"{label:<45} {wv:>12,.2f} {bv:>12,.2f} {ratio:>7.1f}x")
print("(ratio > 1 means wamd is better)")
with open(os.path.join(res, "summary.json"), "w") as f:
    json.dump([{"benchmark": l, "wamd": wv, "baileys": bv} for l, wv, bv, _ in rows], f, indent=1)
