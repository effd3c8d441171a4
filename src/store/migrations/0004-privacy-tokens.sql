-- 0004: privacy tokens (tctoken) per contact, keyed by its user JID (the LID
-- when known): the token it issued to us, sent with our 1:1 messages to it,
-- and that token's timestamp; and when we last issued ours to it (0: never).
CREATE TABLE privacy_tokens (
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	jid TEXT NOT NULL,
	token BLOB,
	token_t INTEGER NOT NULL DEFAULT 0,
	sender_t INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (instance_id, jid)
) WITHOUT ROWID;
