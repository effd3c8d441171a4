-- 0003: message bodies may be sealed (wa_store_opts.seal_messages). The
-- flag is per row, so turning the setting on or off later leaves earlier
-- rows readable: 1 = plaintext / payload is version || nonce || secretbox.
ALTER TABLE messages ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;
