-- PostgreSQL twin of 0007-console.sql (same number and name; types: BIGINT, BYTEA,
-- identity columns for the SQLite INTEGER PRIMARY KEY ids).
-- webhook_queue keeps the events wamd gave up on (state 2, "dead": a
-- non-retryable answer, or webhook_max_attempts / webhook_max_age_s reached)
-- instead of deleting them, with the last error of every failed attempt, so
-- an operator can see why and replay them (GET /wamd/webhookQueue,
-- POST /wamd/webhookReplay). State 0 stays "pending".
ALTER TABLE webhook_queue ADD COLUMN last_error TEXT;
