-- PostgreSQL twin of 0005-groups.sql (same number and name; types: BIGINT, BYTEA,
-- identity columns for the SQLite INTEGER PRIMARY KEY ids).
-- 0005: groups. The group's metadata as the server last described it (the
-- encoded <group> node), and which devices hold our current sender key for
-- it (they get no distribution message again until the key changes).
CREATE TABLE groups (
	instance_id BIGINT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	jid TEXT NOT NULL,
	meta BYTEA NOT NULL,
	PRIMARY KEY (instance_id, jid)
);
CREATE TABLE group_sk_holders (
	instance_id BIGINT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	group_jid TEXT NOT NULL,
	device_jid TEXT NOT NULL,
	PRIMARY KEY (instance_id, group_jid, device_jid)
);
