-- Token signing keys (API.md "Signing keys"), shared by every instance through the store.
-- The same statements as migrations/sqlite/0004_signing_keys.sql (BIGINT for timestamps).
--
-- private_key: the Ed25519 PKCS#8 document, sealed with CHALK_ENCRYPTION_KEY (never plain).
-- public_key: the raw 32-byte public key, base64url without padding (the JWK's `x`).
-- status: current (signs), previous (verifies until retires_at), retired.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retires_at BIGINT
);
-- At most one current key: instances starting at once race on this index
-- (INSERT … ON CONFLICT DO NOTHING), and only one key wins.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (status) WHERE status = 'current';
