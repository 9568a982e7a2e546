#!/usr/bin/env python3
"""Writes a decant row stream as LOAD DATA files, for the floor of the pipeline
benchmark (scripts/bench/transform.sh; issue 11: "LOAD DATA of the same rows
from a file").

    rows_to_loaddata.py ROWS.ndjson OUTDIR > load.sql

One tab-separated file per (table, set of columns), rows in stream order (the
order a streaming importer meets them: a Redis SCAN's hash order, not key
order), values in MySQL's LOAD DATA text form (\\N for NULL, \\t \\n \\\\
escaped). stdout gets the LOAD DATA INFILE statements that load them.
"""

import base64
import json
import os
import sys


def text(value):
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dict) and len(value) == 1:
        (tag, inner), = value.items()
        if tag in ("$int", "$dec", "$num"):
            return str(inner)
        if tag == "$b64":
            return escape(base64.b64decode(inner).decode("latin-1"))
    if isinstance(value, (dict, list)):
        return escape(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    if isinstance(value, str):
        # A datetime's 'T' and zone: MariaDB's DATETIME text has neither.
        if len(value) >= 19 and value[4] == "-" and value[10] == "T" and value[13] == ":":
            value = value.replace("T", " ", 1).removesuffix("Z")
        return escape(value)
    return str(value)


def escape(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    files = {}
    with open(src, encoding="utf-8") as f:
        for line in f:
            if not line.startswith('{"kind":"row"'):
                continue
            rec = json.loads(line)
            cols = tuple(rec["data"].keys())
            key = (rec["table"], cols)
            if key not in files:
                path = os.path.join(outdir, f"{len(files):03d}.tsv")
                files[key] = (path, open(path, "w", encoding="utf-8"))
            files[key][1].write("\t".join(text(v) for v in rec["data"].values()) + "\n")
    for (table, cols), (path, fh) in files.items():
        fh.close()
        col_list = ", ".join(f"`{c}`" for c in cols)
        print(f"LOAD DATA INFILE '{path}' INTO TABLE `{table}` CHARACTER SET utf8mb4 ({col_list});")


main()
