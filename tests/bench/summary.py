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

# --- M: memory per connected idle session (session_memory*.mjs) ---
sw, sb = load("session_memory_wamd.json"), load("session_memory_baileys.json")
if sw and sb:
    common = sorted({r["n"] for r in sw["rows"]} & {r["n"] for r in sb["rows"]})
    if common:
        n = common[-1]
        wr = next(r for r in sw["rows"] if r["n"] == n)
        br = next(r for r in sb["rows"] if r["n"] == n)
        rows.append((f"idle session, marginal RssAnon KiB (N={n})", wr["median_increment_kb"],
                     br["median_increment_kb"], "lower"))
        rows.append((f"idle session, average RssAnon KiB (N={n})", wr["avg_anon_per_session_kb"],
                     br["avg_anon_per_session_kb"], "lower"))
    rows.append((f"idle session, RssAnon KiB after idle (N={sw['idle']['of']} vs {sb['idle']['of']})",
                 sw["idle"]["anon_per_session_kb"], sb["idle"]["anon_per_session_kb"], "lower"))
    rows.append(("fixed cost, RssAnon MB (0 sessions)", sw["fixed"]["anon_kb"] / 1024,
                 sb["fixed"]["anon_kb"] / 1024, "lower"))
    one = next((r for r in sw["rows"] if r["n"] == 1), None)
    pp = next((r for r in sb.get("per_process", []) if r["n"] == 1), None)
    if one and pp:
        rows.append(("one session, total VmRSS MB (Baileys: own process)", one["rss_kb"] / 1024,
                     pp["rss_per_session_kb"] / 1024, "lower"))
    rows.append(("CPU per pairing, ms (client side)", sw["provision"]["wamd_cpu_ms_per_pairing"],
                 sb["provision"]["node_cpu_ms_per_pairing"], "lower"))


print(f"{'benchmark':<52} {'wamd':>12} {'Baileys':>12} {'ratio':>8}")
print("(wamd rows without 'per commit': one durable SQLite commit per message on each side)")
for label, wv, bv, better in rows:
    ratio = (wv / bv if better == "higher" else bv / wv) if bv and wv else float("nan")
    print(f"{label:<52} {wv:>12,.2f} {bv:>12,.2f} {ratio:>7.1f}x")
print("(ratio > 1 means wamd is better)")
if sw:
    idle = sw["idle"]
    print(f"wamd at N={idle['of']} after {idle['seconds']} s idle: {idle['open']}/{idle['of']} open, "
          f"VmHWM {sw['vm_hwm_kb'] / 1024:.1f} MB, idle CPU {idle['wamd_cpu_pct']:.2f}% of a core")
    print(f"wasim (test server) at N={idle['of']}: {idle['wasim_anon_per_conn_kb']:.1f} KiB RssAnon per TLS "
          f"connection, idle CPU {idle['wasim_cpu_pct']:.2f}%, {sw['provision']['wasim_cpu_ms_per_pairing']:.1f} ms CPU "
          "per pairing")
ss = load("session_memory_wamd_seeded.json")
if ss:
    idle = ss["idle"]
    vs = f", {sb['idle']['anon_per_session_kb'] / idle['anon_per_session_kb']:.0f}x under Baileys' (N={sb['idle']['of']})" if sb else ""
    print(f"wamd at N={idle['of']} (seeded, restarted): {idle['open']}/{idle['of']} open after {idle['seconds']} s idle, "
          f"{idle['anon_per_session_kb']:.1f} KiB RssAnon per session{vs}, VmHWM {ss['vm_hwm_kb'] / 1024:.1f} MB, "
          f"idle CPU {idle['wamd_cpu_pct']:.2f}% of a core; provisioned in {ss['provision']['seconds']:.0f} s")
with open(os.path.join(res, "summary.json"), "w") as f:
    json.dump([{"benchmark": l, "wamd": wv, "baileys": bv} for l, wv, bv, _ in rows], f, indent=1)

# --- R: daemon figures against the issue's targets (no Baileys counterpart) ---
targets = []
sl = load("send_latency.json")
if sl:
    for store, v in sl.get("stores", {"disk": sl}).items():
        if not v.get("wire", {}).get("count"):
            continue
        targets += [
            ("durable send p50 (ms), store on %s" % store, v["wire"]["p50_ms"], None),
            ("durable send p99 (ms), store on %s" % store, v["wire"]["p99_ms"], 5.0),
            ("  achieved msg/s (target %d)" % sl["target_rate"], v["achieved_rate"], None),
        ]
rr = load("restart_recovery.json")
if rr:
    for mode, m in rr["modes"].items():
        n = rr["instances"]
        targets += [
            ("restart %d (%s): all online (s)" % (n, mode), m["all_open_s"], None),
            ("restart %d (%s): online + drained (s)" % (n, mode), m["drained_s"], 60.0),
            ("restart %d (%s): peak handshakes" % (n, mode), m["wasim_peak_handshakes"], None),
            ("restart %d (%s): peak RSS (MiB)" % (n, mode), m["wamd_peak_rss_mib"], None),
            ("restart %d (%s): CPU (s)" % (n, mode), m["wamd_cpu_s"], None),
            ("restart %d (%s): logouts" % (n, mode), m["logouts"], 0),
        ]
if targets:
    print()
    print(f"{'daemon (wamd only)':<45} {'wamd':>12} {'target':>12}")
    for label, v, t in targets:
        vs = "timeout" if v is None else f"{v:,.2f}"
        ts = "" if t is None else ("<= " if t else "") + f"{t:g}"
        print(f"{label:<45} {vs:>12} {ts:>12}")
    path = os.path.join(res, "summary.json")
    with open(path) as f:
        summary = json.load(f)
    summary += [{"benchmark": l, "wamd": v, "target": t} for l, v, t in targets]
    with open(path, "w") as f:
        json.dump(summary, f, indent=1)
