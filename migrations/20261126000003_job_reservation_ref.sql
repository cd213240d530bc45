-- The API records the reservation id it hands to the workflow before the workflow's
-- `reserve_coins` creates the reservation, so the job cannot reference it as a foreign key.
ALTER TABLE insight_generation_jobs DROP CONSTRAINT insight_generation_jobs_reservation_id_fkey;
