#!/usr/bin/env python3
"""Writes a decant NDJSON stream of rows for several tables in an order that
switches table almost every row, as decant-transform writes a Redis keyspace
(keys in SCAN order, each family into its own table), and the same rows
sorted by table. Used by scripts/bench/interleave.sh (mysql-import and the
other SQL importers on interleaved vs sorted input).

    interleaved_rows.py --rows 33172 --tables 12 --out-interleaved A --out-sorted B --out-schema S
"""
import argparse
import json
import random

TYPES = [
    ("string", {"type": "string", "max_len": 64}),
    ("int", {"type": "int64"}),
    ("decimal", {"type": "decimal", "precision": 20, "scale": 6}),
    ("datetime", {"type": "datetime", "precision": 0}),
    ("json", {"type": "json"}),
    ("text", {"type": "text"}),
]


def value(kind, rng, i):
    if kind == "string":
        return "%08x-%04x" % (rng.getrandbits(32), i % 65536)
    if kind == "int":
        return rng.randrange(0, 10**9)
    if kind == "decimal":
        return "%d.%06d" % (rng.randrange(0, 1000), rng.randrange(0, 10**6))
    if kind == "datetime":
        return "2026-%02d-%02dT%02d:%02d:%02d" % (
            rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24), rng.randrange(60), rng.randrange(60))
    if kind == "json":
        return {"model": "claude-%d" % rng.randrange(5), "tokens": rng.randrange(10**6), "ok": True}
    return "request %d from %s" % (i, "x" * rng.randrange(5, 60))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=33172)
    ap.add_argument("--tables", type=int, default=12)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out-schema", required=True)
    ap.add_argument("--out-interleaved", required=True)
    ap.add_argument("--out-sorted", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    tables = []
    for t in range(a.tables):
        ncols = 6 + t % 10
        cols = [("id", "string")] + [("c%d_%s" % (c, TYPES[(t + c) % len(TYPES)][0]), TYPES[(t + c) % len(TYPES)][0])
                                     for c in range(1, ncols)]
        tables.append(("bench_t%02d" % t, cols))
    with open(a.out_schema, "w") as f:
        for name, cols in tables:
            columns = []
            for cname, kind in cols:
                col = {"name": cname, "nullable": cname != "id"}
                col.update(dict(TYPES)[kind])
                columns.append(col)
            f.write(json.dumps({"kind": "schema", "table": name, "columns": columns, "primary_key": ["id"]}) + "\n")
    # Skewed table sizes, as families are (a few big, many small).
    weights = [1.0 / (1 + t) for t in range(a.tables)]
    lines = []
    for i in range(a.rows):
        t = rng.choices(range(a.tables), weights)[0]
        name, cols = tables[t]
        data = {"id": "r%07d" % i}
        for cname, kind in cols[1:]:
            data[cname] = value(kind, rng, i)
        lines.append((t, json.dumps({"kind": "row", "table": name, "data": data}, separators=(",", ":"))))
    with open(a.out_interleaved, "w") as f:
        f.writelines(line + "\n" for _, line in lines)
    with open(a.out_sorted, "w") as f:
        f.writelines(line + "\n" for _, line in sorted(lines, key=lambda x: x[0]))
    switches = sum(1 for k in range(1, len(lines)) if lines[k][0] != lines[k - 1][0])
    print("rows %d, tables %d, table switches %d" % (len(lines), a.tables, switches))


if __name__ == "__main__":
    main()
