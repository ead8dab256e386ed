-- Systems of organisations outside the practice (and the practice's own) that read through the
-- FHIR API: OAuth 2.0 client credentials. Secrets and tokens are kept only as SHA-256 digests
-- (both are 256-bit random values, so a fast digest is enough). Same text for both engines.
CREATE TABLE api_client (
    id               TEXT PRIMARY KEY,
    organisation_ods TEXT NOT NULL,
    name             TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    secret_sha256    TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    revoked_at       TEXT
);

CREATE TABLE api_token (
    token_sha256 TEXT PRIMARY KEY,
    client_id    TEXT NOT NULL REFERENCES api_client (id),
    scopes       TEXT NOT NULL,
    issued_at    TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
