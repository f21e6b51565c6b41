#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Instruction profile per message of the runs of scripts/insn-profile.

    report.py DIR [--top N]

DIR holds the plugin's snapshots (snap.N), the guest's /proc/kallsyms per
implementation (kallsyms.IMPL) and the guest's output (guest.log), whose
"bench-mark: N IMPL MODE SIZE PAIRS" lines say which snapshots enclose which
run and whose "bench-result:" lines give the run's message count. Prints,
per run, the guest instructions per delivered message in all (both
namespaces, softirqs, kernel threads and the two processes), by module, and
by symbol side by side for the runs.
"""
import argparse
import bisect
import collections
import json
import os
import re
import sys


def symbols(path):
    """Sorted (address, name, module) of text symbols."""
    out = []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) < 3 or p[1] not in "tTwW":
                continue
            addr = int(p[0], 16)
            if addr:
                out.append((addr, p[2], p[3].strip("[]") if len(p) > 3 else "kernel"))
    out.sort()
    return out


def snapshot(path):
    counts = {}
    with open(path) as f:
        for line in f:
            start, n, count = line.split()[:3]
            counts[(int(start, 16), int(n))] = int(count)
    return counts


def profile(syms, before, after):
    """Instructions by (name, module) executed between two snapshots."""
    addrs = [s[0] for s in syms]
    per = collections.Counter()
    for key, count in after.items():
        runs = count - before.get(key, 0)
        if runs <= 0:
            continue
        start, n = key
        if start < 0xFFFF800000000000:
            per[("[user]", "user")] += runs * n
            continue
        i = bisect.bisect_right(addrs, start) - 1
        per[(syms[i][1], syms[i][2]) if i >= 0 else ("?", "kernel")] += runs * n
    return per


def short(name):
    """A Rust symbol's last path segments (`conn::Conn::consume`), from its
    v0 mangling with disambiguators and back-references dropped."""
    if not name.startswith("_R"):
        return name
    name = re.sub(r"([CMXYNI])s[0-9A-Za-z]*_", r"\1", name)
    name = re.sub(r"B[0-9A-Za-z]*_", "", name)
    parts, i = [], 2
    while i < len(name):
        m = re.match(r"\d+", name[i:])
        if m:
            n, j = int(m.group()), i + len(m.group())
            if name[j:j + 1] == "_":
                j += 1
            ident = name[j:j + n]
            if len(ident) == n and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident):
                parts.append(ident)
                i = j + n
                continue
        i += 1
    return "::".join(parts[-3:]) or name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--top", type=int, default=40)
    a = ap.parse_args()
    marks, results = [], []
    with open(os.path.join(a.dir, "guest.log")) as f:
        for line in f:
            if line.startswith("bench-mark: "):
                n, impl, mode, size, pairs = line.split()[1:6]
                marks.append((int(n), impl, mode, int(size), int(pairs)))
            elif line.startswith("bench-result: "):
                results.append(json.loads(line[len("bench-result: "):]))
    runs = []
    for (n, impl, mode, size, pairs), res in zip(marks, results):
        if res.get("impl") != impl or not res.get("ok"):
            print(f"skipped: {impl} {mode} {size} B x {pairs} (no result)", file=sys.stderr)
            continue
        paths = [os.path.join(a.dir, f"snap.{n + k}") for k in (0, 1)]
        if not all(os.path.exists(p) for p in paths):
            sys.exit(f"report.py: snapshots {n}, {n + 1} missing for {impl}")
        per = profile(symbols(os.path.join(a.dir, f"kallsyms.{impl}")),
                      snapshot(paths[0]), snapshot(paths[1]))
        msgs = res["messages"]
        runs.append((f"{impl} {size}x{pairs}", msgs, {k: v / msgs for k, v in per.items()}))
    if not runs:
        sys.exit("report.py: no run to report")

    print("Guest instructions per delivered message\n")
    mods = sorted({m for _, _, p in runs for (_, m) in p})
    print("| run | messages | all | " + " | ".join(mods) + " |")
    print("| --- | ---: | ---: |" + " ---: |" * len(mods))
    for label, msgs, p in runs:
        by_mod = collections.Counter()
        for (_, m), v in p.items():
            by_mod[m] += v
        cells = " | ".join(f"{by_mod[m]:,.0f}" for m in mods)
        print(f"| {label} | {msgs} | {sum(p.values()):,.0f} | {cells} |")

    print(f"\nBy symbol (the {a.top} largest of the last run, then the rest)\n")
    last = runs[-1][2]
    keys = sorted(last, key=lambda k: -last[k])[:a.top]
    keys += sorted({k for _, _, p in runs for k in p if p[k] >= 20} - set(keys),
                   key=lambda k: -max(p.get(k, 0) for _, _, p in runs))
    print("| symbol | module | " + " | ".join(r[0] for r in runs) + " |")
    print("| --- | --- |" + " ---: |" * len(runs))
    for k in keys:
        cells = " | ".join(f"{p.get(k, 0):,.0f}" for _, _, p in runs)
        print(f"| {short(k[0])} | {k[1]} | {cells} |")


if __name__ == "__main__":
    main()
