-- PostgreSQL twin of 0003-sealed-messages.sql (same number and name; types: BIGINT, BYTEA,
-- identity columns for the SQLite INTEGER PRIMARY KEY ids).
-- 0003: message bodies may be sealed (wa_store_opts.seal_messages). The
-- flag is per row, so turning the setting on or off later leaves earlier
-- rows readable: 1 = plaintext / payload is version || nonce || secretbox.
ALTER TABLE messages ADD COLUMN sealed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN sealed BIGINT NOT NULL DEFAULT 0;
