-- One active unlock per chat and category: of concurrent identical requests exactly one
-- inserts its job; the others find it and return it.
CREATE UNIQUE INDEX insight_generation_jobs_one_active
    ON insight_generation_jobs (chat_id, category_id) WHERE status IN ('queued', 'running');

-- Free retries of a failed insight, numbered so each gets its own workflow id.
ALTER TABLE insights ADD COLUMN retry_count INTEGER NOT NULL DEFAULT 0;
