#!/usr/bin/python3
"""Prints one benchmark's results as a Markdown table.

    table.py RESULTS.tsv BENCH

RESULTS.tsv rows: bench case impl runs median_ms flops peak_kb note, tab
separated (run.sh appends them). Per case, the ratio column is kiln's median
divided by the peer's: above 1, the peer is faster than kiln. Cases named
`baseline` are not printed; where a baseline row exists for an impl, the
`extra peak MiB` column is that impl's peak RSS on the case minus its peak
RSS on the baseline (the same inputs and output, trivial work)."""
import sys


def num(s):
    try:
        return float(s)
    except ValueError:
        return None


def main():
    path, bench = sys.argv[1], sys.argv[2]
    rows = []
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) >= 8 and p[0] == bench:
                rows.append(dict(case=p[1], impl=p[2], runs=p[3],
                                 ms=num(p[4]), flops=num(p[5]) or 0,
                                 peak=num(p[6]), note=p[7]))
    if not rows:
        print(f"({bench}: no results)")
        return
    base = {r["impl"]: r["peak"] for r in rows
            if r["case"] == "baseline" and r["peak"]}
    rows = [r for r in rows if r["case"] != "baseline"]
    kiln = {r["case"]: r["ms"] for r in rows if r["impl"] == "kiln"}
    show_flops = any(r["flops"] for r in rows)
    show_mem = bool(base)
    head = ["case", "impl", "runs", "median ms"]
    if show_flops:
        head.append("GFLOP/s")
    if show_mem:
        head.append("extra peak MiB")
    head += ["kiln ÷ impl", "notes"]
    out = [head]
    last_case = None
    for r in rows:
        cells = [r["case"] if r["case"] != last_case else "", r["impl"],
                 r["runs"], f"{r['ms']:.3f}" if r["ms"] else "—"]
        last_case = r["case"]
        if show_flops:
            cells.append(f"{r['flops'] / (r['ms'] * 1e6):.1f}"
                         if r["ms"] and r["flops"] else "—")
        if show_mem:
            b = base.get(r["impl"])
            cells.append(f"{(r['peak'] - b) / 1024:.0f}"
                         if b and r["peak"] else "—")
        k = kiln.get(r["case"])
        cells.append(f"{k / r['ms']:.2f}" if k and r["ms"] else "—")
        cells.append(r["note"])
        out.append(cells)
    widths = [max(len(row[i]) for row in out) for i in range(len(head))]
    right = {"runs", "median ms", "GFLOP/s", "extra peak MiB", "kiln ÷ impl"}

    def fmt(row):
        return "| " + " | ".join(
            c.rjust(w) if h in right else c.ljust(w)
            for c, w, h in zip(row, widths, head)) + " |"

    print(fmt(head))
    print("|" + "|".join(("-" * (w + 1) + ":") if h in right
                         else ("-" * (w + 2))
                         for w, h in zip(widths, head)) + "|")
    for row in out[1:]:
        print(fmt(row))


if __name__ == "__main__":
    main()
