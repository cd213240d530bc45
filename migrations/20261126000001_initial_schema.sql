-- The whole data model of RelivChats.
--
-- Money rules enforced here rather than in code:
--   * users.credit_balance >= 0, and every ledger row's balance_after >= 0;
--   * one signup bonus per user, one ledger row per idempotency key (purchases, unlock
--     captures, refunds), one order per provider payment id;
--   * a coin reservation leaves `held` exactly once and never changes state afterwards.
-- Enum-like columns are lowercase text with CHECK constraints: the API returns them as stored.
-- Columns marked "enc" hold Fernet ciphertext (chat content is encrypted at rest).

CREATE TABLE users (
    user_id        TEXT PRIMARY KEY,
    email          TEXT,
    credit_balance INTEGER NOT NULL DEFAULT 0 CHECK (credit_balance >= 0),
    -- Set when a refund could not claw back every coin (see payment_refunds.shortfall_coins).
    is_flagged     BOOLEAN NOT NULL DEFAULT FALSE,
    flag_reason    TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    is_deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at     TIMESTAMPTZ
);
-- Not unique: a person who deletes an account and signs up again under a new Clerk id keeps
-- their email (the earlier service failed that sign-up on a unique index).
CREATE INDEX users_email_idx ON users (email);

CREATE TABLE analysis_categories (
    id           UUID PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    description  TEXT,
    icon         TEXT,
    credit_cost  INTEGER NOT NULL DEFAULT 400 CHECK (credit_cost > 0),
    sort_order   INTEGER NOT NULL DEFAULT 0,
    is_active    BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE insight_types (
    id                       UUID PRIMARY KEY,
    name                     TEXT NOT NULL UNIQUE,
    display_title            TEXT NOT NULL,
    description              TEXT,
    icon                     TEXT,
    prompt_template          TEXT NOT NULL,
    rag_query_keywords       TEXT NOT NULL DEFAULT '',
    response_schema          JSONB NOT NULL,
    required_metadata_fields JSONB NOT NULL DEFAULT '[]'::jsonb,
    is_premium               BOOLEAN NOT NULL DEFAULT TRUE,
    credit_cost              INTEGER NOT NULL DEFAULT 100,
    supports_group_chats     BOOLEAN NOT NULL DEFAULT FALSE,
    max_participants         INTEGER CHECK (max_participants IS NULL OR max_participants >= 2),
    is_active                BOOLEAN NOT NULL DEFAULT TRUE,
    created_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at               TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE category_insight_types (
    category_id     UUID NOT NULL REFERENCES analysis_categories (id) ON DELETE CASCADE,
    insight_type_id UUID NOT NULL REFERENCES insight_types (id) ON DELETE CASCADE,
    display_order   INTEGER NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (category_id, insight_type_id)
);

CREATE TABLE chats (
    id                              UUID PRIMARY KEY,
    user_id                         TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    title                           TEXT,            -- enc
    participants                    TEXT,            -- enc, JSON array of names
    chat_metadata                   TEXT,            -- enc, JSON (the free statistics)
    user_display_name               TEXT,            -- enc
    platform                        TEXT NOT NULL DEFAULT 'whatsapp',
    status                          TEXT NOT NULL DEFAULT 'completed'
        CHECK (status IN ('processing', 'completed', 'failed')),
    error_log                       TEXT,
    is_group_chat                   BOOLEAN NOT NULL DEFAULT FALSE,
    participant_count               INTEGER NOT NULL DEFAULT 0,
    message_count                   INTEGER NOT NULL DEFAULT 0,
    category_id                     UUID REFERENCES analysis_categories (id) ON DELETE SET NULL,
    vector_status                   TEXT NOT NULL DEFAULT 'pending'
        CHECK (vector_status IN ('pending', 'indexing', 'completed', 'failed')),
    chunk_count                     INTEGER NOT NULL DEFAULT 0,
    indexed_at                      TIMESTAMPTZ,
    insights_generation_status      TEXT NOT NULL DEFAULT 'not_started'
        CHECK (insights_generation_status IN
            ('not_started', 'queued', 'generating', 'completed', 'partial_failure', 'failed')),
    insights_unlocked_at            TIMESTAMPTZ,
    insights_generation_started_at  TIMESTAMPTZ,
    insights_generation_completed_at TIMESTAMPTZ,
    insights_job_id                 TEXT,
    total_insights_requested        INTEGER NOT NULL DEFAULT 0,
    total_insights_completed        INTEGER NOT NULL DEFAULT 0,
    total_insights_failed           INTEGER NOT NULL DEFAULT 0,
    is_shared                       BOOLEAN NOT NULL DEFAULT FALSE,
    shared_at                       TIMESTAMPTZ,
    created_at                      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                      TIMESTAMPTZ NOT NULL DEFAULT now(),
    is_deleted                      BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at                      TIMESTAMPTZ
);
CREATE INDEX chats_user_listing_idx ON chats (user_id, created_at DESC) WHERE NOT is_deleted;

CREATE TABLE messages (
    id        UUID PRIMARY KEY,
    chat_id   UUID NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    -- Position in the export, so file order survives identical timestamps.
    seq       INTEGER NOT NULL,
    sender    TEXT,                                  -- enc; NULL for system lines
    content   TEXT NOT NULL,                         -- enc
    -- The wall-clock time written in the export: it carries no zone, so none is invented.
    timestamp TIMESTAMP NOT NULL,
    UNIQUE (chat_id, seq)
);
CREATE INDEX messages_keyset_idx ON messages (chat_id, timestamp, id);

CREATE TABLE message_chunks (
    id               UUID PRIMARY KEY,
    chat_id          UUID NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    chunk_index      INTEGER NOT NULL,
    chunk_text       TEXT NOT NULL,                  -- enc
    chunk_metadata   TEXT,                           -- enc, JSON
    vector_id        TEXT,
    token_count      INTEGER,
    first_message_id UUID,
    last_message_id  UUID,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (chat_id, chunk_index)
);

CREATE TABLE credit_packages (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL,
    coins           INTEGER NOT NULL CHECK (coins > 0),
    price_usd       NUMERIC(10, 2) NOT NULL CHECK (price_usd > 0),
    price_inr       NUMERIC(10, 2) NOT NULL CHECK (price_inr > 0),
    description     TEXT,
    is_active       BOOLEAN NOT NULL DEFAULT TRUE,
    is_popular      BOOLEAN NOT NULL DEFAULT FALSE,
    sort_order      INTEGER NOT NULL DEFAULT 0,
    stripe_price_id TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Holds coins while an unlock runs: available = balance - sum(amount of held reservations).
CREATE TABLE coin_reservations (
    id              UUID PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    chat_id         UUID REFERENCES chats (id) ON DELETE SET NULL,
    category_id     UUID REFERENCES analysis_categories (id) ON DELETE SET NULL,
    workflow_id     TEXT,
    amount          INTEGER NOT NULL CHECK (amount > 0),
    status          TEXT NOT NULL DEFAULT 'held'
        CHECK (status IN ('held', 'captured', 'released', 'expired')),
    captured_amount INTEGER NOT NULL DEFAULT 0 CHECK (captured_amount >= 0),
    -- Coins given back after capture (operator refund); never more than were captured.
    refunded_amount INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
    reason          TEXT,
    expires_at      TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    settled_at      TIMESTAMPTZ,
    CHECK (captured_amount <= amount),
    CHECK (refunded_amount <= captured_amount),
    CHECK ((status = 'held') = (settled_at IS NULL)),
    CHECK (status = 'captured' OR captured_amount = 0)
);
CREATE INDEX coin_reservations_held_idx ON coin_reservations (user_id) WHERE status = 'held';

-- A reservation ends exactly once: once it has left `held`, its status never changes again.
CREATE FUNCTION coin_reservation_single_terminal_state() RETURNS trigger AS $$
BEGIN
    IF OLD.status <> 'held' AND NEW.status IS DISTINCT FROM OLD.status THEN
        RAISE EXCEPTION 'reservation % already ended as %', OLD.id, OLD.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER coin_reservations_single_terminal_state
    BEFORE UPDATE ON coin_reservations
    FOR EACH ROW EXECUTE FUNCTION coin_reservation_single_terminal_state();

CREATE TABLE payment_orders (
    id                  UUID PRIMARY KEY,
    user_id             TEXT NOT NULL REFERENCES users (user_id) ON DELETE RESTRICT,
    package_id          UUID NOT NULL REFERENCES credit_packages (id),
    provider            TEXT NOT NULL CHECK (provider IN ('razorpay', 'stripe')),
    provider_order_id   TEXT NOT NULL,
    provider_payment_id TEXT,
    amount              INTEGER NOT NULL CHECK (amount > 0),   -- minor units (paise, cents)
    currency            TEXT NOT NULL CHECK (currency IN ('INR', 'USD')),
    coins               INTEGER NOT NULL CHECK (coins > 0),
    status              TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'refunded', 'flagged')),
    flag_reason         TEXT,
    idempotency_key     TEXT,
    metadata            JSONB NOT NULL DEFAULT '{}'::jsonb,
    webhook_count       INTEGER NOT NULL DEFAULT 0,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    completed_at        TIMESTAMPTZ,
    webhook_received_at TIMESTAMPTZ,
    UNIQUE (provider, provider_order_id),
    -- One order per provider payment: a payment can never be credited through two orders.
    UNIQUE (provider, provider_payment_id),
    -- Idempotency keys are scoped to the user (the earlier service had them global).
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX payment_orders_status_idx ON payment_orders (status);

CREATE TABLE credit_transactions (
    id               UUID PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    type             TEXT NOT NULL CHECK (type IN ('signup_bonus', 'purchase', 'insight_unlock',
                                                   'refund', 'admin_adjustment', 'payment_refund')),
    amount           INTEGER NOT NULL CHECK (amount <> 0),
    balance_after    INTEGER NOT NULL CHECK (balance_after >= 0),
    status           TEXT NOT NULL DEFAULT 'completed'
        CHECK (status IN ('pending', 'completed', 'failed', 'refunded')),
    description      TEXT,
    chat_id          UUID REFERENCES chats (id) ON DELETE SET NULL,
    package_id       UUID REFERENCES credit_packages (id) ON DELETE SET NULL,
    payment_order_id UUID REFERENCES payment_orders (id) ON DELETE SET NULL,
    reservation_id   UUID REFERENCES coin_reservations (id) ON DELETE SET NULL,
    payment_id       TEXT,
    -- What makes this row happen once: `signup_bonus:{user}`, `purchase:{provider}:{payment}`,
    -- `capture:{reservation}`, `refund:{reservation}` … A retried activity hits this key.
    idempotency_key  TEXT NOT NULL UNIQUE,
    metadata         JSONB,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX credit_transactions_user_idx ON credit_transactions (user_id, created_at DESC);
CREATE UNIQUE INDEX credit_transactions_one_signup_bonus
    ON credit_transactions (user_id) WHERE type = 'signup_bonus';

CREATE TABLE insight_generation_jobs (
    id                       UUID PRIMARY KEY,
    job_id                   TEXT NOT NULL UNIQUE,
    workflow_id              TEXT NOT NULL,
    chat_id                  UUID NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    category_id              UUID NOT NULL REFERENCES analysis_categories (id),
    user_id                  TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    reservation_id           UUID REFERENCES coin_reservations (id) ON DELETE SET NULL,
    status                   TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'completed', 'failed', 'partial_failure')),
    total_insights           INTEGER NOT NULL,
    completed_insights       INTEGER NOT NULL DEFAULT 0,
    failed_insights          INTEGER NOT NULL DEFAULT 0,
    coins_reserved           INTEGER NOT NULL DEFAULT 0,
    coins_charged            INTEGER NOT NULL DEFAULT 0,
    coins_refunded           INTEGER NOT NULL DEFAULT 0,
    total_tokens_used        INTEGER NOT NULL DEFAULT 0,
    total_generation_time_ms INTEGER NOT NULL DEFAULT 0,
    failed_insight_ids       JSONB NOT NULL DEFAULT '[]'::jsonb,
    error_message            TEXT,
    started_at               TIMESTAMPTZ,
    estimated_completion_at  TIMESTAMPTZ,
    completed_at             TIMESTAMPTZ,
    created_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at               TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX insight_generation_jobs_chat_idx ON insight_generation_jobs (chat_id, category_id);

CREATE TABLE insights (
    id                 UUID PRIMARY KEY,
    chat_id            UUID NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    insight_type_id    UUID NOT NULL REFERENCES insight_types (id) ON DELETE CASCADE,
    job_id             TEXT,
    content            TEXT,                         -- enc, JSON
    status             TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'generating', 'completed', 'failed')),
    error_message      TEXT,
    attempts           INTEGER NOT NULL DEFAULT 0,
    tokens_used        INTEGER NOT NULL DEFAULT 0,
    generation_time_ms INTEGER NOT NULL DEFAULT 0,
    rag_chunks_used    INTEGER NOT NULL DEFAULT 0,
    model_used         TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (chat_id, insight_type_id)
);

CREATE TABLE payment_refunds (
    id                  UUID PRIMARY KEY,
    payment_order_id    UUID NOT NULL REFERENCES payment_orders (id),
    user_id             TEXT NOT NULL REFERENCES users (user_id) ON DELETE RESTRICT,
    provider            TEXT NOT NULL CHECK (provider IN ('razorpay', 'stripe')),
    provider_refund_id  TEXT NOT NULL,
    provider_payment_id TEXT,
    amount              INTEGER NOT NULL CHECK (amount > 0),
    currency            TEXT NOT NULL,
    coins_refunded      INTEGER NOT NULL DEFAULT 0 CHECK (coins_refunded >= 0),
    -- Coins that could not be clawed back because they were already spent.
    shortfall_coins     INTEGER NOT NULL DEFAULT 0 CHECK (shortfall_coins >= 0),
    reason              TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'processed', 'failed')),
    metadata            JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at        TIMESTAMPTZ,
    UNIQUE (provider, provider_refund_id)
);

-- Every webhook is stored before it is acted on; a replayed event hits the unique key.
CREATE TABLE webhook_events (
    id           UUID PRIMARY KEY,
    provider     TEXT NOT NULL CHECK (provider IN ('razorpay', 'stripe', 'clerk')),
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    payload      JSONB NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at TIMESTAMPTZ,
    outcome      TEXT,
    UNIQUE (provider, event_id)
);
