-- PostgreSQL twin of 0006-app-state-mutations.sql (same number and name; types: BIGINT, BYTEA,
-- identity columns for the SQLite INTEGER PRIMARY KEY ids).
-- 0006: the app-state mutations applied per collection, keyed by index MAC:
-- the value MAC each index holds (a later SET or REMOVE of that index
-- subtracts it from the LT-hash), and the decrypted index JSON and
-- SyncActionValue, so that mutations we do not act on are kept, not dropped.
CREATE TABLE app_state_mutations (
	instance_id BIGINT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	index_mac BYTEA NOT NULL,
	value_mac BYTEA NOT NULL,
	index_json TEXT NOT NULL,
	value BYTEA,
	PRIMARY KEY (instance_id, name, index_mac)
);
