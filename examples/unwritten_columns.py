#!/usr/bin/env python3
"""Prints TABLE.COLUMN,… for the columns of a decant-transform spec's [[schema]]
tables that no rule writes: the database fills them itself (AUTO_INCREMENT ids,
DEFAULT CURRENT_TIMESTAMP, other defaults), so a check of the spec's rows
against the database leaves them out:

    decant-verify --left backup.ndjson.zst --spec relay-to-mysql.toml --right mysql://… \\
        --ignore-columns "$(python3 examples/unwritten_columns.py examples/relay-to-mysql.toml)"
"""
import sys
import tomllib

spec = tomllib.load(open(sys.argv[1], "rb"))
written = {}
for rule in spec.get("rule", []):
    if "to_table" in rule:
        cols = {c["name"] for c in rule.get("columns", [])}
        cols.update(filter(None, [rule.get("extra_into")]))
        written.setdefault(rule["to_table"], []).append(cols)
print(",".join(f"{t['table']}.{c['name']}" for t in spec.get("schema", []) for c in t["columns"]
               if written.get(t["table"]) and all(c["name"] not in w for w in written[t["table"]])))
