-- 0007: history sync. chats gains what the phone's history (and later app
-- state) says of a chat; history_pending holds each history-sync
-- notification from its receipt until its import is committed, with how
-- many conversations are in, so a restart resumes where it stopped.
ALTER TABLE chats ADD COLUMN conversation_ts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN marked_unread INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN pn_jid TEXT;
ALTER TABLE chats ADD COLUMN lid_jid TEXT;
CREATE TABLE history_pending (
	id INTEGER PRIMARY KEY,
	instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
	msg_id TEXT NOT NULL,
	chat_jid TEXT NOT NULL,
	notification BLOB NOT NULL,            -- sealed HistorySyncNotification
	convs_done INTEGER NOT NULL DEFAULT 0,
	UNIQUE (instance_id, msg_id)
);
