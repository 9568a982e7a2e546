#!/usr/bin/env python3
"""The IMAGINED relay service of the first examples (not the real Claude Relay Service:
see examples/gen_relay_redis.py), kept for tests/tests/relay_pipeline.rs and the imagined specs.

Deterministic generator of a Redis "relay" dataset (API relay service shape) as a RESP stream.

Writes RESP commands to --out (default data/relay.resp); load with
    redis-cli -p 6379 --pipe < relay.resp
Key families at --scale 1 (about 1M keys):
  apikey:{uuid}                       100k hashes, 15 fields (JSON permissions, ISO dates, numeric limits)
  apikey_hash_map                     1 hash, 100k fields (sha256 of key -> key id)
  claude_account:{uuid} / gemini_account:{uuid}   10k + 10k hashes, base64 and raw-binary (some non-UTF-8) token fields
  admin:{uuid}                        100 hashes
  usage:{keyId}:daily:{yyyy-mm-dd}    500k hashes (5 days x 100k keys), 1/2 of them with a TTL
  usage:records:{keyId}               50k lists x 20 JSON strings
  session:{token}                     200k strings with TTLs (EX)
  concurrency:{keyId}                 50k sorted sets (1-5 members)
  a few sets, one stream of 10k entries (events:stream)
Also writes a manifest JSON with per-family counts next to the output.
"""
import argparse, base64, hashlib, json, os, random, sys, uuid
from datetime import datetime, timedelta, timezone


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, (bytes, bytearray)):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default="data/relay.resp")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    S = lambda n: max(1, int(n * a.scale))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    f = open(a.out, "wb", buffering=1 << 22)
    w = f.write
    counts = {}
    base = datetime(2025, 1, 1, tzinfo=timezone.utc)

    def uid():
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def iso(dt):
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)

    names = ["alpha", "beta", "gamma", "dev", "prod", "测试", "clé", "ключ", "team🚀", "bot"]
    perms = ["all", "claude", "gemini", "openai"]
    models = ["claude-sonnet-4", "claude-opus-4", "gemini-2.5-pro", "gpt-4o"]

    # apikeys
    n_keys = S(100_000)
    key_ids = []
    hm = []
    for i in range(n_keys):
        kid = uid()
        key_ids.append(kid)
        created = base + timedelta(seconds=rng.randrange(0, 300 * 86400), microseconds=rng.randrange(0, 10**6))
        secret = "cr_" + hashlib.sha256(b"%d-%d" % (a.seed, i)).hexdigest()
        hashed = hashlib.sha256(secret.encode()).hexdigest()
        hm.append((hashed, kid))
        fields = [
            "id", kid,
            "name", "%s-%d" % (rng.choice(names), i),
            "description", rng.choice(["", "primary key", "CI runner\nline two", "emoji 🎉 key", "tab\there"]),
            "apiKey", hashed,
            "tokenLimit", str(rng.choice([0, 100000, 1000000, 5000000])),
            "concurrencyLimit", str(rng.randrange(0, 20)),
            "rateLimitWindow", str(rng.choice([0, 60, 3600])),
            "rateLimitRequests", str(rng.randrange(0, 1000)),
            "isActive", rng.choice(["true", "false"]),
            "permissions", json.dumps({"scope": rng.choice(perms), "models": rng.sample(models, rng.randrange(0, 4)),
                                       "restrictModels": rng.random() < 0.3}),
            "claudeAccountId", uid() if rng.random() < 0.5 else "",
            "createdAt", iso(created),
            "lastUsedAt", iso(created + timedelta(days=rng.randrange(0, 60))) if rng.random() < 0.8 else "",
            "expiresAt", iso(created + timedelta(days=365)) if rng.random() < 0.2 else "",
            "dailyCostLimit", "%.2f" % (rng.random() * 100),
        ]
        w(resp("HSET", "apikey:" + kid, *fields))
    counts["apikey"] = n_keys

    # one big hash
    for j in range(0, len(hm), 1000):
        chunk = hm[j:j + 1000]
        args = []
        for h, k in chunk:
            args += [h, k]
        w(resp("HSET", "apikey_hash_map", *args))
    counts["apikey_hash_map"] = 1

    # accounts with binary token fields
    n_acc = S(10_000)
    non_utf8 = 0
    for kind in ("claude_account", "gemini_account"):
        for i in range(n_acc):
            aid = uid()
            raw = rng.randbytes(48)
            if i % 10 == 0:
                # guaranteed invalid UTF-8: lone continuation byte + 0xff
                raw = b"\x80\xff" + raw
                non_utf8 += 1
            tok = base64.b64encode(rng.randbytes(96))
            w(resp("HSET", "%s:%s" % (kind, aid),
                   "id", aid, "name", "%s %d" % (kind, i), "email", "user%d@example.com" % i,
                   "accessToken", tok, "refreshToken", raw if i % 10 == 0 else base64.b64encode(raw),
                   "encryptedIv", rng.randbytes(16).hex(), "isActive", "true", "status", rng.choice(["active", "error", "rate_limited"]),
                   "proxy", json.dumps({"type": "socks5", "host": "127.0.0.1", "port": 1080}) if i % 3 == 0 else "",
                   "createdAt", iso(base + timedelta(seconds=i)), "priority", str(rng.randrange(1, 100))))
        counts[kind] = n_acc
    counts["non_utf8_refreshToken_values"] = non_utf8

    n_admin = S(100)
    for i in range(n_admin):
        aid = uid()
        w(resp("HSET", "admin:" + aid, "id", aid, "username", "admin%d" % i,
               "passwordHash", "$2b$10$" + base64.b64encode(rng.randbytes(40)).decode()[:53],
               "createdAt", iso(base + timedelta(days=i)), "lastLogin", iso(base + timedelta(days=i + 3))))
    counts["admin"] = n_admin

    # usage daily: 5 days x keys
    days = [(base + timedelta(days=200 + d)).strftime("%Y-%m-%d") for d in range(5)]
    n_daily = 0
    n_daily_ttl = 0
    for kid in key_ids:
        for d in days:
            k = "usage:%s:daily:%s" % (kid, d)
            inp = rng.randrange(0, 10**6); out = rng.randrange(0, 10**5)
            cc = rng.randrange(0, 5000); cr = rng.randrange(0, 50000)
            w(resp("HSET", k, "requests", rng.randrange(1, 5000), "inputTokens", inp, "outputTokens", out,
                   "cacheCreateTokens", cc, "cacheReadTokens", cr, "allTokens", inp + out + cc + cr,
                   "cost", "%.6f" % (rng.random() * 50)))
            n_daily += 1
            if n_daily % 2 == 0:
                w(resp("EXPIRE", k, 90 * 86400 + rng.randrange(0, 86400)))
                n_daily_ttl += 1
    counts["usage_daily"] = n_daily
    counts["usage_daily_with_ttl"] = n_daily_ttl

    n_rec = S(50_000)
    for kid in key_ids[:n_rec]:
        items = []
        for j in range(20):
            items.append(json.dumps({"timestamp": iso(base + timedelta(seconds=rng.randrange(0, 10**7))),
                                     "model": rng.choice(models), "inputTokens": rng.randrange(0, 10**5),
                                     "outputTokens": rng.randrange(0, 10**4), "cost": round(rng.random(), 6),
                                     "status": rng.choice([200, 200, 200, 429, 529])}, separators=(",", ":")))
        w(resp("RPUSH", "usage:records:" + kid, *items))
    counts["usage_records"] = n_rec

    n_sess = S(200_000)
    for i in range(n_sess):
        tok = hashlib.sha1(b"s%d-%d" % (a.seed, i)).hexdigest()
        val = json.dumps({"adminId": i % n_admin, "ip": "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(256)),
                          "ua": "Mozilla/5.0", "loginAt": iso(base + timedelta(seconds=i))}, separators=(",", ":"))
        w(resp("SET", "session:" + tok, val, "EX", 3600 * 24 * 7 + rng.randrange(0, 3600 * 24)))
    counts["session"] = n_sess

    n_conc = S(50_000)
    for kid in key_ids[-n_conc:]:
        args = []
        for j in range(rng.randrange(1, 6)):
            args += ["%.3f" % (1.7e12 + rng.randrange(0, 10**9)), "req-%s" % uid()]
        w(resp("ZADD", "concurrency:" + kid, *args))
    counts["concurrency"] = n_conc

    for s in range(4):
        w(resp("SADD", "set:tags:%d" % s, *["tag-%d" % rng.randrange(10**6) for _ in range(100)]))
    w(resp("SADD", "admin:usernames", *["admin%d" % i for i in range(n_admin)]))
    counts["sets"] = 5

    n_stream = S(10_000)
    for i in range(n_stream):
        w(resp("XADD", "events:stream", "%d-0" % (1735689600000 + i), "type", rng.choice(["req", "err", "auth"]),
               "keyId", key_ids[i % n_keys], "latencyMs", rng.randrange(5, 9000)))
    counts["stream_entries"] = n_stream
    f.close()
    total = n_keys + 1 + 2 * n_acc + n_admin + n_daily + n_rec + n_sess + n_conc + 5 + 1
    counts["total_keys"] = total
    with open(a.out + ".manifest.json", "w") as m:
        json.dump(counts, m, indent=1)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
