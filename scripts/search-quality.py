#!/usr/bin/env python3
"""Search quality on a question set (docs/benchmarks.md, "Search quality"); standard library only.

    scripts/search-quality.py QUESTIONS.json VAULT_DIR [--bin target/release/weaver]
                              [--mode keyword ...] [--label NAME] [--model-dir DIR]
                              [--cache DIR] [--fusion-sweep]

Serves VAULT_DIR with `weaver serve` on a free loopback port (a copy is not needed: nothing is
written to the vault; the cache goes to a temporary folder), asks every question of
QUESTIONS.json (`{"questions": [{"q": ..., "relevant": [paths, most relevant first]}]}`)
through `GET /api/v1/vaults/default/search?q=...&limit=10` (with `mode=` when given) and prints
one Markdown row per mode: MRR@10, recall@10, nDCG@10 (binary relevance) and how many
questions had no relevant note in their first ten hits, or no hit at all.

With --model-dir the server has semantic search (`[search.semantic] model_dir`); the script
waits until every note is embedded (`stats.semantic.complete`) before asking. --cache keeps the
cache (and so the embeddings) in DIR for the next run. --fusion-sweep also fetches each
question's keyword and semantic rankings (100 deep) and prints the quality of reciprocal rank
fusion for a grid of constants and weights: how the fusion rule in weaver-app was chosen.
"""
import argparse
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

K = 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metrics(ranked, relevant):
    """MRR, recall and nDCG at K of one ranked list against a set of relevant paths."""
    top = ranked[:K]
    rr = next((1.0 / (i + 1) for i, path in enumerate(top) if path in relevant), 0.0)
    found = sum(1 for path in top if path in relevant)
    recall = found / len(relevant)
    dcg = sum(1.0 / math.log2(i + 2) for i, path in enumerate(top) if path in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), K)))
    return rr, recall, dcg / ideal


def ranking(base, question, mode, depth=100):
    params = {"q": question, "limit": depth, "mode": mode}
    url = base + "/api/v1/vaults/default/search?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url) as r:
        return [hit["path"] for hit in json.load(r)["items"]]


def sweep(base, questions, label):
    """Quality of weighted reciprocal rank fusion of the two rankings, for a grid of rules."""
    pairs = [(ranking(base, q["q"], "keyword"), ranking(base, q["q"], "semantic"))
             for q in questions]
    print("| set | k | keyword weight | semantic weight | MRR@10 | recall@10 | nDCG@10 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for k in (5, 10, 20, 30, 60, 100):
        for wk, ws in ((1, 1), (1, 1.5), (1, 2), (1, 3), (1, 4), (1, 5), (1.5, 1), (0, 1), (1, 0)):
            totals = [0.0, 0.0, 0.0]
            for question, (keyword, semantic) in zip(questions, pairs):
                scores = {}
                for rank, path in enumerate(keyword):
                    scores[path] = scores.get(path, 0.0) + wk / (k + rank + 1)
                for rank, path in enumerate(semantic):
                    scores[path] = scores.get(path, 0.0) + ws / (k + rank + 1)
                fused = sorted(scores, key=lambda p: (-scores[p], p))
                rr, recall, ndcg = metrics(fused, set(question["relevant"]))
                totals = [totals[0] + rr, totals[1] + recall, totals[2] + ndcg]
            n = len(questions)
            print("| %s | %d | %g | %g | %.3f | %.3f | %.3f |" % (
                label, k, wk, ws, totals[0] / n, totals[1] / n, totals[2] / n))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("questions")
    parser.add_argument("vault")
    parser.add_argument("--bin", default="target/release/weaver")
    parser.add_argument("--mode", action="append", default=[])
    parser.add_argument("--label", default=None)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--cache", default=None)
    parser.add_argument("--fusion-sweep", action="store_true")
    args = parser.parse_args()
    questions = json.load(open(args.questions, encoding="utf-8"))["questions"]
    work = tempfile.mkdtemp(prefix="weaver-search-quality.")
    port = free_port()
    config = os.path.join(work, "weaver.toml")
    with open(config, "w") as f:
        cache = os.path.abspath(args.cache) if args.cache else os.path.join(work, "cache")
        f.write('[server]\nlisten = "127.0.0.1:%d"\nrequest_timeout_secs = 120\n'
                '[log]\nlevel = "warn"\n'
                '[vaults.default]\npath = %s\ncache_dir = %s\nread_only = true\n'
                % (port, json.dumps(os.path.abspath(args.vault)), json.dumps(cache)))
        if args.model_dir:
            f.write('[search.semantic]\nmodel_dir = %s\n' % json.dumps(os.path.abspath(args.model_dir)))
        else:
            f.write('[search.semantic]\nenabled = false\n')
    server = subprocess.Popen([args.bin, "serve", "--config", config],
                              stderr=open(os.path.join(work, "server.log"), "w"))
    base = "http://127.0.0.1:%d" % port
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                with urllib.request.urlopen(base + "/readyz") as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit("weaver did not become ready; see " + os.path.join(work, "server.log"))
            time.sleep(0.1)
        if args.model_dir:
            started = time.monotonic()
            while True:
                with urllib.request.urlopen(base + "/api/v1/vaults/default/stats") as r:
                    semantic = json.load(r).get("semantic")
                if semantic and semantic["complete"]:
                    print("embedded %d notes (%d chunks) in %.0f s" % (
                        semantic["notes"], semantic["chunks"], time.monotonic() - started),
                        file=sys.stderr)
                    break
                if server.poll() is not None:
                    sys.exit("weaver stopped; see " + os.path.join(work, "server.log"))
                time.sleep(1)
        label = args.label or os.path.basename(os.path.normpath(args.vault))
        if args.fusion_sweep:
            sweep(base, questions, label)
        for mode in args.mode or [None]:
            totals = [0.0, 0.0, 0.0]
            misses = empty = 0
            for question in questions:
                params = {"q": question["q"], "limit": K}
                if mode:
                    params["mode"] = mode
                url = base + "/api/v1/vaults/default/search?" + urllib.parse.urlencode(params)
                with urllib.request.urlopen(url) as r:
                    hits = [hit["path"] for hit in json.load(r)["items"]]
                relevant = set(question["relevant"])
                rr, recall, ndcg = metrics(hits, relevant)
                totals = [totals[0] + rr, totals[1] + recall, totals[2] + ndcg]
                misses += rr == 0.0
                empty += not hits
                if args.verbose and rr < 1.0:
                    print("rr=%.2f %s -> %s" % (rr, question["q"], hits[:3]), file=sys.stderr)
            n = len(questions)
            print("| %s | %s | %d | %.3f | %.3f | %.3f | %d | %d |" % (
                label, mode or "default", n, totals[0] / n, totals[1] / n, totals[2] / n,
                misses, empty))
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
