#!/usr/bin/env python3
"""The peer of `scripts/bench/transform.sh`: the hand-written migration script
users write today for the real Claude Relay Service (redis-py + pymysql: SCAN,
pipelined reads, executemany in batches of 1000), into the tables of the
service's MySQL schema, doing the mapping of examples/relay-to-mysql.toml for
four families:

    apikey:{id}                  -> api_keys        (hash, 37 fields)
    usage:daily:{keyId}:{date}   -> usage_stats     (hash; model 'all', stat_hour NULL)
    usage:cost:daily:{keyId}:{d} -> cost_stats      (INCRBYFLOAT string, rounded half-even to 6 places)
    usage:records:{keyId}        -> usage_records   (list of JSON, one row per element)

Datetimes are truncated to whole seconds in UTC (DATETIME), costs rounded
half-even to the column's scale, as the spec says; like most such scripts it
drops the TTLs.

    relay_py_peer.py REDIS_PORT MYSQL_PORT DATABASE
"""
import json
import sys
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal

import pymysql
import redis

BATCH = 1000

# The four tables as the service's schema declares them.
DDL = [
    """CREATE TABLE IF NOT EXISTS api_keys (
  id VARCHAR(36) NOT NULL, name VARCHAR(255) NOT NULL, description TEXT, api_key_hash VARCHAR(64) NOT NULL,
  token_limit BIGINT DEFAULT 0, concurrency_limit INT DEFAULT 0, rate_limit_window INT DEFAULT 0,
  rate_limit_requests INT DEFAULT 0, rate_limit_cost DECIMAL(12,2) DEFAULT 0, is_active TINYINT(1) DEFAULT 1,
  claude_account_id VARCHAR(64), claude_console_account_id VARCHAR(64), gemini_account_id VARCHAR(64),
  openai_account_id VARCHAR(64), azure_openai_account_id VARCHAR(64), bedrock_account_id VARCHAR(64),
  droid_account_id VARCHAR(64), permissions VARCHAR(32) DEFAULT 'all', enable_model_restriction TINYINT(1) DEFAULT 0,
  restricted_models JSON, enable_client_restriction TINYINT(1) DEFAULT 0, allowed_clients JSON,
  daily_cost_limit DECIMAL(12,2) DEFAULT 0, total_cost_limit DECIMAL(12,2) DEFAULT 0,
  weekly_opus_cost_limit DECIMAL(12,2) DEFAULT 0, tags JSON, activation_days INT DEFAULT 0,
  activation_unit VARCHAR(16) DEFAULT 'days', expiration_mode VARCHAR(16) DEFAULT 'fixed',
  is_activated TINYINT(1) DEFAULT 0, activated_at DATETIME NULL, expires_at DATETIME NULL,
  created_by VARCHAR(32) DEFAULT 'admin', user_id VARCHAR(64), user_username VARCHAR(255), icon MEDIUMTEXT,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP, last_used_at DATETIME NULL,
  updated_at DATETIME DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id), UNIQUE KEY uk_api_key_hash (api_key_hash), KEY idx_is_active (is_active)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    """CREATE TABLE IF NOT EXISTS usage_stats (
  id BIGINT NOT NULL AUTO_INCREMENT, api_key_id VARCHAR(36) NOT NULL, account_type VARCHAR(32) NOT NULL DEFAULT 'api_key',
  model VARCHAR(128) NOT NULL DEFAULT 'unknown', stat_date DATE NOT NULL, stat_hour TINYINT NULL, stat_month CHAR(7) NOT NULL,
  total_tokens BIGINT DEFAULT 0, input_tokens BIGINT DEFAULT 0, output_tokens BIGINT DEFAULT 0,
  cache_create_tokens BIGINT DEFAULT 0, cache_read_tokens BIGINT DEFAULT 0, ephemeral_5m_tokens BIGINT DEFAULT 0,
  ephemeral_1h_tokens BIGINT DEFAULT 0, long_context_input_tokens BIGINT DEFAULT 0,
  long_context_output_tokens BIGINT DEFAULT 0, long_context_requests INT DEFAULT 0, requests INT DEFAULT 0,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP, updated_at DATETIME DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id), UNIQUE KEY uk_usage (api_key_id, account_type, model, stat_date, stat_hour),
  KEY idx_stat_month (api_key_id, stat_month)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    """CREATE TABLE IF NOT EXISTS cost_stats (
  id BIGINT NOT NULL AUTO_INCREMENT, api_key_id VARCHAR(36) NOT NULL, cost_type VARCHAR(16) NOT NULL,
  cost_date VARCHAR(16) NOT NULL, amount DECIMAL(20,6) NOT NULL DEFAULT 0,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP, updated_at DATETIME DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id), UNIQUE KEY uk_cost (api_key_id, cost_type, cost_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
    """CREATE TABLE IF NOT EXISTS usage_records (
  id BIGINT NOT NULL AUTO_INCREMENT, api_key_id VARCHAR(36) NOT NULL, model VARCHAR(128), endpoint VARCHAR(255),
  input_tokens INT DEFAULT 0, output_tokens INT DEFAULT 0, cache_tokens INT DEFAULT 0, cost DECIMAL(20,6) DEFAULT 0,
  response_time_ms INT DEFAULT 0, status_code INT DEFAULT 200, error_message TEXT, metadata JSON,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (id), KEY idx_key_created (api_key_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci""",
]

API_KEY_COLUMNS = [
    # column, field, conversion
    ("id", None, "id"), ("name", "name", "s"), ("description", "description", "s"), ("api_key_hash", "apiKey", "s"),
    ("token_limit", "tokenLimit", "int"), ("concurrency_limit", "concurrencyLimit", "int"),
    ("rate_limit_window", "rateLimitWindow", "int"), ("rate_limit_requests", "rateLimitRequests", "int"),
    ("rate_limit_cost", "rateLimitCost", "dec2"), ("is_active", "isActive", "bool"),
    ("claude_account_id", "claudeAccountId", "s"), ("claude_console_account_id", "claudeConsoleAccountId", "s"),
    ("gemini_account_id", "geminiAccountId", "s"), ("openai_account_id", "openaiAccountId", "s"),
    ("azure_openai_account_id", "azureOpenaiAccountId", "s"), ("bedrock_account_id", "bedrockAccountId", "s"),
    ("droid_account_id", "droidAccountId", "s"), ("permissions", "permissions", "s"),
    ("enable_model_restriction", "enableModelRestriction", "bool"), ("restricted_models", "restrictedModels", "json"),
    ("enable_client_restriction", "enableClientRestriction", "bool"), ("allowed_clients", "allowedClients", "json"),
    ("daily_cost_limit", "dailyCostLimit", "dec2"), ("total_cost_limit", "totalCostLimit", "dec2"),
    ("weekly_opus_cost_limit", "weeklyOpusCostLimit", "dec2"), ("tags", "tags", "json"),
    ("activation_days", "activationDays", "int"), ("activation_unit", "activationUnit", "s"),
    ("expiration_mode", "expirationMode", "s"), ("is_activated", "isActivated", "bool"),
    ("activated_at", "activatedAt", "dt"), ("expires_at", "expiresAt", "dt"), ("created_by", "createdBy", "s"),
    ("user_id", "userId", "s"), ("user_username", "userUsername", "s"), ("icon", "icon", "s"),
    ("created_at", "createdAt", "dt"), ("last_used_at", "lastUsedAt", "dt"),
]


def dt(s):
    """ISO-8601 with milliseconds, UTC -> DATETIME (whole seconds, truncated)."""
    if not s:
        return None
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(microsecond=0)


def dec(s, places):
    return None if s in (None, "") else Decimal(s).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def convert(kind, v):
    if kind == "s":
        return v
    if kind == "int":
        return None if v in (None, "") else int(v)
    if kind == "bool":
        return None if v is None else v == "true"
    if kind == "dec2":
        return dec(v, 2)
    if kind == "json":
        return None if v is None else json.dumps(json.loads(v), ensure_ascii=False)
    if kind == "dt":
        return dt(v)
    raise ValueError(kind)


def main():
    rport, mport, dbname = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    r = redis.Redis(host="127.0.0.1", port=rport, decode_responses=True)
    db = pymysql.connect(host="127.0.0.1", port=mport, user="root", password="", database=dbname,
                         charset="utf8mb4", autocommit=False)
    cur = db.cursor()
    for ddl in DDL:
        cur.execute(ddl)

    def migrate(pattern, kind, read, rows_of, sql):
        """SCAN the keys, read them in pipelined batches, insert with executemany."""
        rows, keys, n = [], [], 0

        def flush_keys():
            nonlocal n
            pipe = r.pipeline(transaction=False)
            for k in keys:
                read(pipe, k)
            for k, v in zip(keys, pipe.execute()):
                rows.extend(rows_of(k, v))
            keys.clear()
            if len(rows) >= BATCH:
                cur.executemany(sql, rows)
                db.commit()
                n += len(rows)
                rows.clear()

        for k in r.scan_iter(match=pattern, count=1000, _type=kind):
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
        kid = key.split(":", 1)[1]
        if kid == "hash_map":
            return []
        return [tuple(kid if f is None else convert(c, h.get(f)) for _, f, c in API_KEY_COLUMNS)]

    def daily(key, h):
        _, _, kid, date = key.split(":")
        return [(kid, "all", date, date[:7], int(h["allTokens"]), int(h["inputTokens"]), int(h["outputTokens"]),
                 int(h["cacheCreateTokens"]), int(h["cacheReadTokens"]), int(h["ephemeral5mTokens"]),
                 int(h["ephemeral1hTokens"]), int(h["requests"]))]

    def cost(key, v):
        _, _, _, kid, date = key.split(":")
        return [(kid, "daily", date, dec(v, 6))]

    def records(key, elements):
        kid = key.split(":", 2)[2]
        out = []
        for e in elements:
            j = json.loads(e)
            out.append((kid, j.get("model"), j.get("inputTokens"), j.get("outputTokens"), j.get("cacheReadTokens"),
                        dec(repr(j["cost"]) if "cost" in j else None, 6), e, dt(j.get("timestamp"))))
        return out

    cols = ", ".join(c for c, _, _ in API_KEY_COLUMNS)
    marks = ", ".join(["%s"] * len(API_KEY_COLUMNS))
    a = migrate("apikey:*", "hash", lambda p, k: p.hgetall(k), api_key,
                f"INSERT INTO api_keys ({cols}) VALUES ({marks})")
    u = migrate("usage:daily:*", "hash", lambda p, k: p.hgetall(k), daily,
                "INSERT INTO usage_stats (api_key_id, model, stat_date, stat_month, total_tokens, input_tokens, "
                "output_tokens, cache_create_tokens, cache_read_tokens, ephemeral_5m_tokens, ephemeral_1h_tokens, "
                "requests) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)")
    c = migrate("usage:cost:daily:*", "string", lambda p, k: p.get(k), cost,
                "INSERT INTO cost_stats (api_key_id, cost_type, cost_date, amount) VALUES (%s,%s,%s,%s)")
    rec = migrate("usage:records:*", "list", lambda p, k: p.lrange(k, 0, -1), records,
                  "INSERT INTO usage_records (api_key_id, model, input_tokens, output_tokens, cache_tokens, cost, "
                  "metadata, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)")
    print(f"api_keys {a} usage_stats {u} cost_stats {c} usage_records {rec}")


if __name__ == "__main__":
    main()
