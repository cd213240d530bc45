-- One unlock at a time per chat, enforced by the database (the API's "another category is being
-- unlocked" check used to be a read before the insert, so parallel requests for different
-- categories of one chat all passed it). Together with the reservation now written in the same
-- transaction as the job, a burst of unlocks can neither overspend nor run side by side.
CREATE UNIQUE INDEX insight_generation_jobs_one_active_per_chat
    ON insight_generation_jobs (chat_id) WHERE status IN ('queued', 'running');

-- The reservation now exists before the job row points at it (both written by the API in one
-- transaction), so the reference can be a real foreign key again. Rows of older jobs whose
-- reservation was never made (refused inside the workflow) keep their dangling id as NULL.
UPDATE insight_generation_jobs j SET reservation_id = NULL
    WHERE reservation_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM coin_reservations r WHERE r.id = j.reservation_id);
ALTER TABLE insight_generation_jobs
    ADD CONSTRAINT insight_generation_jobs_reservation_id_fkey
    FOREIGN KEY (reservation_id) REFERENCES coin_reservations (id) ON DELETE SET NULL;

-- The sweeper looks for holds past their expiry.
CREATE INDEX coin_reservations_expiry_idx ON coin_reservations (expires_at) WHERE status = 'held';
