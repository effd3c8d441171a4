-- 0001: the initial schema. Every per-instance table references instances(id)
-- ON DELETE CASCADE, so deleting an instance removes all its rows (needs
-- PRAGMA foreign_keys=ON, which wa_store_open sets on every connection).
-- Columns marked "sealed" hold crypto_secretbox output when the store is
-- encrypted (see README.md), raw bytes otherwise.

CREATE TABLE meta (
	key TEXT PRIMARY KEY,
	value BLOB
) WITHOUT ROWID;

CREATE TABLE instances (
	id INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);

CREATE TABLE creds (
	instance_id INTEGER PRIMARY KEY REFERENCES instances(id) ON DELETE CASCADE,
	noise_pub BLOB NOT NULL,
	noise_priv BLOB NOT NULL,            -- sealed
	identity_pub BLOB NOT NULL,
	identity_priv BLOB NOT NULL,         -- sealed
	registration_id INTEGER NOT NULL,
	adv_secret BLOB NOT NULL,            -- sealed
	signed_prekey_id INTEGER NOT NULL,
	signed_prekey_pub BLOB NOT NULL,
	signed_prekey_priv BLOB NOT NULL,    -- sealed
	signed_prekey_sig BLOB NOT NULL,
	next_prekey_id INTEGER NOT NULL,
	first_unuploaded_prekey_id INTEGER NOT NULL,
	me_jid TEXT NOT NULL,
	me_lid TEXT NOT NULL,
	adv_identity BLOB NOT NULL,
	platform TEXT NOT NULL,
	push_name TEXT NOT NULL,
	routing_info BLOB NOT NULL
);

-- Signal stores, keyed as libsignal-protocol-c's store callbacks ask.
CREATE TABLE identity_keys (
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	device_id INTEGER NOT NULL,
	key BLOB NOT NULL,
	PRIMARY KEY (instance_id, name, device_id)
) WITHOUT ROWID;

CREATE TABLE prekeys (
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	id INTEGER NOT NULL,
	record BLOB NOT NULL,                -- sealed
	PRIMARY KEY (instance_id, id)
) WITHOUT ROWID;

CREATE TABLE signed_prekeys (
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	id INTEGER NOT NULL,
	record BLOB NOT NULL,                -- sealed
	PRIMARY KEY (instance_id, id)
) WITHOUT ROWID;

CREATE TABLE sessions (
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	device_id INTEGER NOT NULL,
	record BLOB NOT NULL,                -- sealed
	PRIMARY KEY (instance_id, name, device_id)
) WITHOUT ROWID;

CREATE TABLE sender_keys (
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	group_id TEXT NOT NULL,
	sender_name TEXT NOT NULL,
	device_id INTEGER NOT NULL,
	record BLOB NOT NULL,                -- sealed
	PRIMARY KEY (instance_id, group_id, sender_name, device_id)
) WITHOUT ROWID;

-- App state sync (later issue).
CREATE TABLE app_state_keys (
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	key_id BLOB NOT NULL,
	key_data BLOB NOT NULL,              -- sealed
	created_at INTEGER NOT NULL,
	PRIMARY KEY (instance_id, key_id)
) WITHOUT ROWID;

CREATE TABLE app_state_versions (
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	version INTEGER NOT NULL,
	hash BLOB NOT NULL,                  -- 128-byte LTHash
	PRIMARY KEY (instance_id, name)
) WITHOUT ROWID;

CREATE TABLE contacts (
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	jid TEXT NOT NULL,
	lid TEXT,
	push_name TEXT,
	full_name TEXT,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (instance_id, jid)
) WITHOUT ROWID;

CREATE TABLE chats (
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	jid TEXT NOT NULL,
	name TEXT,
	unread_count INTEGER NOT NULL DEFAULT 0,
	last_msg_ts INTEGER NOT NULL DEFAULT 0,
	archived INTEGER NOT NULL DEFAULT 0,
	pinned INTEGER NOT NULL DEFAULT 0,
	muted_until INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (instance_id, jid)
) WITHOUT ROWID;

CREATE TABLE messages (
	id INTEGER PRIMARY KEY,
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	chat_jid TEXT NOT NULL,
	msg_id TEXT NOT NULL,
	from_me INTEGER NOT NULL,
	sender_jid TEXT,
	timestamp INTEGER NOT NULL,
	status INTEGER NOT NULL,
	plaintext BLOB,                      -- serialized Message protobuf
	created_at INTEGER NOT NULL,
	UNIQUE (instance_id, chat_jid, msg_id, from_me)
);
CREATE INDEX messages_chat_ts ON messages (instance_id, chat_jid, timestamp);

CREATE TABLE outbox (
	id INTEGER PRIMARY KEY,
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	chat_jid TEXT NOT NULL,
	msg_id TEXT NOT NULL,
	payload BLOB NOT NULL,
	state INTEGER NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX outbox_state ON outbox (instance_id, state, id);

CREATE TABLE webhook_queue (
	id INTEGER PRIMARY KEY,
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	event TEXT NOT NULL,
	payload BLOB NOT NULL,
	state INTEGER NOT NULL DEFAULT 0,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
CREATE INDEX webhook_queue_due ON webhook_queue (state, next_attempt_at);
CREATE INDEX webhook_queue_instance ON webhook_queue (instance_id);

CREATE TABLE lid_mapping (
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	pn TEXT NOT NULL,
	lid TEXT NOT NULL,
	PRIMARY KEY (instance_id, pn)
) WITHOUT ROWID;
CREATE UNIQUE INDEX lid_mapping_lid ON lid_mapping (instance_id, lid);
