-- 0010: disappearing messages. expires_at (seconds, 0 = never) is when a
-- message record of a disappearing chat is to be removed: its timestamp
-- plus the timer it carried, for instances that expire messages.
ALTER TABLE wamd_messages ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX wamd_messages_expiry ON wamd_messages (expires_at) WHERE expires_at > 0;
