-- Ciphertext columns are stored without compression (STORAGE EXTERNAL: out of line when large,
-- never compressed). Fernet tokens are base64 of random bytes, which pglz cannot shrink, but
-- Postgres tried on every value over ~2 kB: `pglz_compress` was about 15% of the database's CPU
-- in the unlock benchmark (writing a chat's chunks). Metadata only: no table is rewritten.
ALTER TABLE chats
    ALTER COLUMN title SET STORAGE EXTERNAL,
    ALTER COLUMN participants SET STORAGE EXTERNAL,
    ALTER COLUMN chat_metadata SET STORAGE EXTERNAL,
    ALTER COLUMN user_display_name SET STORAGE EXTERNAL;
ALTER TABLE messages
    ALTER COLUMN sender SET STORAGE EXTERNAL,
    ALTER COLUMN content SET STORAGE EXTERNAL;
ALTER TABLE message_chunks
    ALTER COLUMN chunk_text SET STORAGE EXTERNAL,
    ALTER COLUMN chunk_metadata SET STORAGE EXTERNAL;
ALTER TABLE insights
    ALTER COLUMN content SET STORAGE EXTERNAL;
