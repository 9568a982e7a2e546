"""Reads a RESP command file (the relay dataset) and writes, for every HSET,
one HPEXPIREAT command giving every FRACTION-th field an absolute expiry a
day ahead: field expiry on a quarter of the relay hashes' fields (the Valkey
run of scripts/bench/redis.sh).

    python3 hfe_resp.py relay.resp 4 > hfe.resp
"""
import sys
import time


def commands(f):
    while True:
        line = f.readline()
        if not line:
            return
        n = int(line[1:])
        args = []
        for _ in range(n):
            size = int(f.readline()[1:])
            args.append(f.read(size + 2)[:-2])
        yield args


def resp(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def main():
    path, every = sys.argv[1], int(sys.argv[2])
    at = b"%d" % ((int(time.time()) + 86400) * 1000)
    out = sys.stdout.buffer
    with open(path, "rb", buffering=1 << 22) as f:
        for args in commands(f):
            if args[0].upper() != b"HSET":
                continue
            fields = args[2::2][::every]
            if fields:
                out.write(resp([b"HPEXPIREAT", args[1], at, b"FIELDS", b"%d" % len(fields)] + fields))


main()
