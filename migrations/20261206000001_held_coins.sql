-- The held-coins rule in one place: coins held by a user's open reservations, which the API and
-- the worker subtract from the balance before they let coins be spent or taken back
-- (available = balance - held). STABLE: within one statement it reads one snapshot, so callers
-- that lock the user's row call it in a later statement (see store/src/lib.rs).
CREATE FUNCTION held_coins(uid TEXT) RETURNS BIGINT
LANGUAGE sql STABLE AS $$
    SELECT COALESCE(SUM(amount), 0)::BIGINT
    FROM coin_reservations
    WHERE user_id = uid AND status = 'held'
$$;
