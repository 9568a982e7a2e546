#!/usr/bin/env python3
"""One run of the relay pipeline (the 4 families of scripts/bench/transform.sh),
with each process's CPU seconds and, with --timeline, a 100 ms timeline of the
cores each one used: where the 2 cores are not both busy.

    relay_timeline.py BIN DB [--timeline]

BIN holds redis-export, decant-transform and mysql-import; DB is (re)created.
The servers are named by the environment, e.g. from a shell that sourced
scripts/bench/lib.sh and ran start_redis / start_mariadb:
    RPORT (redis port)  MPORT (MariaDB TCP port)  MY (start_mariadb's dir, for the socket)
    REDIS_PID  MARIADB_PID (their CPU is read from /proc before and after)
Prints: wall, exit codes, CPU-s of redis-export (ex), decant-transform (tr),
mysql-import (im), redis-server (rs), mariadbd (my) and their total. Tick
resolution is the kernel's (10 ms at 100 Hz), so one 100 ms bucket is rough;
read several.
"""
import os
import subprocess
import sys
import time

env = os.environ
BIN, DB = sys.argv[1], sys.argv[2]
HZ = os.sysconf("SC_CLK_TCK")
SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../examples/relay-to-mysql.toml")
FAMILIES = ["apikey:*", "usage:daily:*", "usage:cost:daily:*", "usage:records:*"]


def cpu(pid):
    """User+sys CPU seconds of a process so far (None once it is gone)."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / HZ
    except OSError:
        return None


mysql = ["mariadb", "--no-defaults", f"--socket={env['MY']}/sock", "-uroot"]
subprocess.run(mysql + ["-e", f"DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB}"], check=True)
rs_pid, my_pid = int(env["REDIS_PID"]), int(env["MARIADB_PID"])
rs0, my0 = cpu(rs_pid), cpu(my_pid)
t0 = time.time()
match = [a for f in FAMILIES for a in ("--match", f)]
ex = subprocess.Popen([f"{BIN}/redis-export", "--url", f"redis://127.0.0.1:{env['RPORT']}/0", "-q"] + match,
                      stdout=subprocess.PIPE)
tr = subprocess.Popen([f"{BIN}/decant-transform", "--spec", SPEC, "-q"], stdin=ex.stdout, stdout=subprocess.PIPE)
ex.stdout.close()
im = subprocess.Popen([f"{BIN}/mysql-import", "--url", f"mysql://root@127.0.0.1:{env['MPORT']}/{DB}",
                       "--create-tables", "--jobs", "1", "-q"], stdin=tr.stdout)
tr.stdout.close()
procs = {"ex": ex, "tr": tr, "im": im}
samples = []
# Children are reaped by poll() only once they have exited: until then
# /proc still has them, so the last sample is their total.
while any(p.poll() is None for p in procs.values()):
    row = {"t": time.time() - t0, "rs": cpu(rs_pid), "my": cpu(my_pid)}
    for k, p in procs.items():
        row[k] = cpu(p.pid) if p.returncode is None else None
    samples.append(row)
    time.sleep(0.05)
wall = time.time() - t0
rs1, my1 = cpu(rs_pid), cpu(my_pid)
last = {k: next((s[k] for s in reversed(samples) if s[k] is not None), 0.0) for k in procs}
total = sum(last.values()) + (rs1 - rs0) + (my1 - my0)
print(f"wall {wall:.2f} rc {[p.returncode for p in procs.values()]} ex {last['ex']:.2f} tr {last['tr']:.2f} "
      f"im {last['im']:.2f} rs {rs1 - rs0:.2f} my {my1 - my0:.2f} total {total:.2f}")
if "--timeline" in sys.argv:
    prev = {"rs": rs0, "my": my0, "ex": 0.0, "tr": 0.0, "im": 0.0}
    since, step = 0.0, 0.1
    for s in samples:
        if s["t"] - since < step and s is not samples[-1]:
            continue
        span, cells, busy = s["t"] - since, [f"{s['t']:5.2f}"], 0.0
        for k in ["ex", "tr", "im", "rs", "my"]:
            if s[k] is None:
                cells.append(f"{k}  -  ")
                continue
            used = (s[k] - prev[k]) / span
            prev[k], busy = s[k], busy + used
            cells.append(f"{k} {used:4.2f}")
        print(" ".join(cells + [f"cores {busy:4.2f}"]))
        since = s["t"]
