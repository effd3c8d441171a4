-- Cluster mode: the file of a media send a node accepted for an instance
-- another node drives, in parts of at most 1 MiB, written in the
-- transaction that writes its wamd_relay row. The owner copies the parts
-- to its own disk and deletes the row, which takes these with it. Only
-- PostgreSQL uses it.
CREATE TABLE wamd_relay_media (
	seq INTEGER NOT NULL REFERENCES wamd_relay(seq) ON DELETE CASCADE,
	part INTEGER NOT NULL,
	data BLOB NOT NULL,
	PRIMARY KEY (seq, part)
);
