#!/usr/bin/env python3
"""The peer of `scripts/bench/transform.sh`: the hand-written migration script
users write today (redis-py + pymysql: SCAN, pipelined HGETALL, executemany in
batches of 1000), doing the same mapping as examples/relay-to-mysql.toml for
the `apikey:{id}` and `usage:{keyId}:daily:{date}` hashes. Like most such
scripts it drops the TTLs.

    relay_py_peer.py REDIS_PORT MYSQL_PORT DATABASE
"""
import json
import sys
from datetime import datetime

import pymysql
import redis

BATCH = 1000


def dt(s):
    if not s:
        return None
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")


def main():
    rport, mport, dbname = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    r = redis.Redis(host="127.0.0.1", port=rport)
    db = pymysql.connect(host="127.0.0.1", port=mport, user="root", password="", database=dbname,
                         charset="utf8mb4", autocommit=False)
    cur = db.cursor()
    cur.execute("""CREATE TABLE api_keys (
        id VARCHAR(36) NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL, description TEXT,
        api_key_hash VARCHAR(64) NOT NULL, token_limit BIGINT, concurrency_limit INT, rate_limit_window INT,
        rate_limit_requests INT, is_active TINYINT(1) NOT NULL, permissions JSON, claude_account_id VARCHAR(36),
        created_at DATETIME(3) NOT NULL, last_used_at DATETIME(3), expires_at DATETIME(3),
        daily_cost_limit DECIMAL(10,2), UNIQUE KEY uniq_api_keys_hash (api_key_hash)) DEFAULT CHARSET=utf8mb4""")
    cur.execute("""CREATE TABLE usage_stats (
        key_id VARCHAR(36) NOT NULL, date DATE NOT NULL, requests BIGINT NOT NULL, input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL, cache_create_tokens BIGINT NOT NULL, cache_read_tokens BIGINT NOT NULL,
        all_tokens BIGINT NOT NULL, cost DECIMAL(16,6) NOT NULL, expire_at_ms BIGINT,
        PRIMARY KEY (key_id, date), KEY idx_usage_stats_date (date)) DEFAULT CHARSET=utf8mb4""")

    def migrate(pattern, convert, sql):
        rows, n = [], 0
        keys = []

        def flush_keys():
            nonlocal n
            pipe = r.pipeline(transaction=False)
            for k in keys:
                pipe.hgetall(k)
            for k, h in zip(keys, pipe.execute()):
                rows.append(convert(k.decode(), {f.decode(): v for f, v in h.items()}))
            keys.clear()
            if len(rows) >= BATCH:
                cur.executemany(sql, rows)
                db.commit()
                n += len(rows)
                rows.clear()

        for k in r.scan_iter(match=pattern, count=1000, _type="hash"):
            keys.append(k)
            if len(keys) >= BATCH:
                flush_keys()
        flush_keys()
        if rows:
            cur.executemany(sql, rows)
            db.commit()
            n += len(rows)
        return n

    def api_key(key, h):
        s = lambda f: h[f].decode() if f in h else None
        return (key.split(":", 1)[1], s("name"), s("description"), s("apiKey"), int(h["tokenLimit"]),
                int(h["concurrencyLimit"]), int(h["rateLimitWindow"]), int(h["rateLimitRequests"]),
                h["isActive"] == b"true", json.dumps(json.loads(h["permissions"])), s("claudeAccountId") or None,
                dt(s("createdAt")), dt(s("lastUsedAt")), dt(s("expiresAt")), s("dailyCostLimit"))

    def daily(key, h):
        _, kid, _, date = key.split(":")
        return (kid, date, int(h["requests"]), int(h["inputTokens"]),
                int(h["outputTokens"]), int(h["cacheCreateTokens"]), int(h["cacheReadTokens"]),
                int(h["allTokens"]), h["cost"].decode(), None)

    a = migrate("apikey:*", api_key, "INSERT INTO api_keys VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)")
    u = migrate("usage:*:daily:*", daily, "INSERT INTO usage_stats VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)")
    print(f"api_keys {a} usage_stats {u}")


if __name__ == "__main__":
    main()
