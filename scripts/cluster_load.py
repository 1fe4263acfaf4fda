#!/usr/bin/env python3
"""The load half of scripts/bench-cluster.sh (standard library only).

    cluster_load.py WRITE_URL WATCH_URL SECONDS THREADS [PID ...]

Appends a line to notes of vault `default` through WRITE_URL (`PATCH`, one request id each)
from THREADS threads for SECONDS, while a watcher polls WATCH_URL's `/readyz` every 2 ms for the
entry it has applied (cluster mode; in local mode WATCH_URL is WRITE_URL and there is no lag).
Prints one JSON line: writes, throughput, latency p50/p99, replication lag p50/p99 (the time
from a write's acknowledgement on one replica until the other has applied its entry) and the
CPU seconds the PIDs used per 1000 writes.
"""
import json
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid


def cpu_seconds(pids):
    total = 0.0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, in ticks
    return total


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def row(measured):
    """The Markdown cells of one measurement (`cluster_load.py --row JSON`)."""
    m = json.loads(measured)
    lag = "-" if m["lag_p50_ms"] is None else "%s / %s ms" % (m["lag_p50_ms"], m["lag_p99_ms"])
    print("| %s | %s / %s ms | %s | %s |" % (
        m["writes_per_s"], m["latency_p50_ms"], m["latency_p99_ms"], lag, m["cpu_s_per_1000_writes"]))


def main():
    if sys.argv[1] == "--row":
        return row(sys.argv[2])
    write, watch, seconds, threads = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    pids = [int(p) for p in sys.argv[5:]]
    base = f"{write}/api/v1/vaults/default"
    with urllib.request.urlopen(f"{base}/notes?limit=200") as r:
        notes = [n["path"] for n in json.load(r)["items"]]
    acked = []  # (seq, time acknowledged)
    latencies = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    applied = []  # (time, applied seq) on the watched replica

    def watcher():
        while time.monotonic() < stop + 5:
            try:
                with urllib.request.urlopen(f"{watch}/readyz") as r:
                    body = json.load(r)
            except Exception as e:  # 503 while behind still has a body
                body = json.load(e) if hasattr(e, "read") else {}
            vaults = (body.get("cluster") or {}).get("vaults") or []
            if vaults:
                applied.append((time.monotonic(), vaults[0]["applied"]))
            time.sleep(0.002)

    def writer(k):
        i = 0
        while time.monotonic() < stop:
            note = notes[(k * 7919 + i) % len(notes)]
            i += 1
            body = json.dumps({"operations": [{"op": "append", "text": f"\nload {k} {i}\n"}]}).encode()
            req = urllib.request.Request(
                f"{base}/notes/{urllib.parse.quote(note)}",
                data=body,
                method="PATCH",
                headers={"content-type": "application/json", "x-request-id": str(uuid.uuid4())},
            )
            t0 = time.monotonic()
            with urllib.request.urlopen(req) as r:
                r.read()
                seq = r.headers.get("weaver-seq")
            t1 = time.monotonic()
            with lock:
                latencies.append(t1 - t0)
                if seq is not None:
                    acked.append((int(seq), t1))

    cpu0 = cpu_seconds(pids)
    started = time.monotonic()
    workers = [threading.Thread(target=writer, args=(k,)) for k in range(threads)]
    watching = threading.Thread(target=watcher)
    watching.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(pids) - cpu0
    watching.join()
    lags = []
    j = 0
    for seq, t in sorted(acked):
        while j < len(applied) and applied[j][1] < seq:
            j += 1
        if j < len(applied):
            lags.append(max(0.0, applied[j][0] - t))
    ms = lambda v: None if v is None else round(v * 1000, 1)
    print(json.dumps({
        "writes": len(latencies),
        "writes_per_s": round(len(latencies) / elapsed, 1),
        "latency_p50_ms": ms(pct(latencies, 50)),
        "latency_p99_ms": ms(pct(latencies, 99)),
        "lag_p50_ms": ms(pct(lags, 50)) if acked and write != watch else None,
        "lag_p99_ms": ms(pct(lags, 99)) if acked and write != watch else None,
        "cpu_s_per_1000_writes": round(cpu / max(1, len(latencies)) * 1000, 2) if pids else None,
    }))


if __name__ == "__main__":
    main()
