-- One row per stored upload, kept for an hour: the per-user "chats uploaded per hour" bound
-- is counted here rather than on `chats`, because a chat can be deleted right after its
-- upload and would then no longer count. Holds across API replicas (unlike the in-process
-- request buckets). Rows older than the window are pruned by the next upload of that user.
CREATE TABLE upload_log (
    id          BIGSERIAL PRIMARY KEY,
    user_id     TEXT NOT NULL,
    uploaded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX upload_log_user_time_idx ON upload_log (user_id, uploaded_at);
