-- PostgreSQL twin of 0004-privacy-tokens.sql (same number and name; types: BIGINT, BYTEA,
-- identity columns for the SQLite INTEGER PRIMARY KEY ids).
-- 0004: privacy tokens (tctoken) per contact, keyed by its user JID (the LID
-- when known): the token it issued to us, sent with our 1:1 messages to it,
-- and that token's timestamp; and when we last issued ours to it (0: never).
CREATE TABLE privacy_tokens (
	instance_id BIGINT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	jid TEXT NOT NULL,
	token BYTEA,
	token_t BIGINT NOT NULL DEFAULT 0,
	sender_t BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (instance_id, jid)
);
