-- The public share page's statistics, computed once when the owner shares the chat (the
-- metadata without links or message text, serialized as the response), so an anonymous
-- request decrypts one bounded value and parses nothing. NULL while not shared.
ALTER TABLE chats ADD COLUMN public_stats TEXT;     -- enc, JSON (the public response)
ALTER TABLE chats ALTER COLUMN public_stats SET STORAGE EXTERNAL;
