-- Messages stored as blocks of consecutive messages (domain/src/blocks.rs): one row per block,
-- its content serialized compactly, zstd-compressed, then Fernet-encrypted (raw token bytes).
-- The columns beside the ciphertext are repeated inside it, so a row whose columns or bytes
-- were altered fails to open rather than showing other text.
CREATE TABLE message_blocks (
    -- Deferred: an upload streams its blocks while it parses, and inserts the chat row (which
    -- needs the statistics) last, in the same transaction.
    chat_id       UUID NOT NULL REFERENCES chats (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    block_no      INTEGER NOT NULL CHECK (block_no >= 0),
    first_seq     INTEGER NOT NULL CHECK (first_seq >= 0),
    message_count INTEGER NOT NULL CHECK (message_count > 0),
    -- Wall-clock times as written in the export (no zone), of the first and last message.
    first_ts      TIMESTAMP NOT NULL,
    last_ts       TIMESTAMP NOT NULL,
    ciphertext    BYTEA NOT NULL,                    -- enc (zstd inside)
    PRIMARY KEY (chat_id, block_no)
);
-- Compressed and encrypted already: pglz would only spend CPU failing to shrink it.
ALTER TABLE message_blocks ALTER COLUMN ciphertext SET STORAGE EXTERNAL;

-- The list block senders index into: NULL means the chat's `participants` (every upload);
-- set by the conversion below only when old rows name a sender the participant list lacks.
ALTER TABLE chats ADD COLUMN senders TEXT;          -- enc, JSON array of names
ALTER TABLE chats ALTER COLUMN senders SET STORAGE EXTERNAL;

-- True while a chat's messages are still per-message rows in `messages` (written before this
-- migration). `relivchats migrate` converts them to blocks and clears it, a chat at a time;
-- readers refuse such a chat with a clear error rather than show it empty.
ALTER TABLE chats ADD COLUMN legacy_messages BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE chats c SET legacy_messages = TRUE
WHERE EXISTS (SELECT 1 FROM messages m WHERE m.chat_id = c.id);
CREATE INDEX chats_legacy_messages_idx ON chats (id) WHERE legacy_messages;
