-- PostgreSQL twin of 0010-kinds.sql (same number and name; types: BIGINT, BYTEA,
-- identity columns for the SQLite INTEGER PRIMARY KEY ids).
-- 0010: disappearing messages. expires_at (seconds, 0 = never) is when a
-- message record of a disappearing chat is to be removed: its timestamp
-- plus the timer it carried, for instances that expire messages.
ALTER TABLE wamd_messages ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX wamd_messages_expiry ON wamd_messages (expires_at) WHERE expires_at > 0;
