-- Staff accounts (argon2id PHC strings) and server-side sessions.

CREATE TABLE staff_user (
    id                TEXT PRIMARY KEY,
    username          TEXT NOT NULL UNIQUE,
    display_name      TEXT NOT NULL,
    role              TEXT NOT NULL,
    organisation      TEXT,
    password_hash     TEXT NOT NULL,
    failed_sign_ins   BIGINT NOT NULL DEFAULT 0,
    locked_until      TEXT,
    is_demo           BIGINT NOT NULL DEFAULT 0,
    created_at        TEXT NOT NULL
);

-- Only a SHA-256 of the session token is stored, so a copy of the database cannot be used to sign in.
CREATE TABLE staff_session (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES staff_user (id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX staff_session_by_user ON staff_session (user_id);
