-- Migration 1: the runtime state replicas share (issue 13). Configuration and sync state stay in
-- each replica's own LMDB; what is here mirrors the interfaces of controller/store/ that a
-- PostgreSQL implementation serves: token-state.ts, keyring.ts, sessions.ts, consents.ts,
-- authorization-codes.ts. Throttles keep no table: their events travel between live replicas over
-- NOTIFY (store/postgres/peer-channel.ts; the bound in controller/oauth/throttle-sharing.ts).
--
-- Conventions, as in the LMDB store: times are seconds since the epoch (JWT claims), except the
-- keyring's, a cut-off's `at`, sessions' and consents' (milliseconds), each
-- named *_ms. Keys put the application first, so one application's rows are one index range and a
-- token is only found through the application it was issued to. Tokens, codes and session ids are
-- never stored: only their base64url SHA-256. Each table with an expiry has an index on it, for
-- the sweeper. Identifiers (names, token ids, hashes) collate "C": byte order, as LMDB's keys, the
-- same on every server whatever its locale, and the cheapest comparison in an index. Run by
-- `mergekey db migrate` in one transaction (migrate.ts).

-- Issued access tokens (AccessTokenRecord), kept for listing; written in batches, not awaited.
-- Listing an application's tokens in key order after a cursor is a range of the primary key.
CREATE TABLE access_tokens (
  app           text COLLATE "C"  NOT NULL,
  jti           text COLLATE "C"  NOT NULL,
  client_id     text              NOT NULL,
  sub           text COLLATE "C"  NOT NULL,
  scope         text              NOT NULL,
  aud           text[]            NOT NULL,
  iat           bigint            NOT NULL,
  exp           bigint            NOT NULL,
  -- The refresh token family it came from: revoking the family revokes it.
  family        text,
  -- IssuedUnder: the cut-off generations of the state it was issued from.
  issued_under  jsonb,
  PRIMARY KEY (app, jti)
);
CREATE INDEX access_tokens_exp ON access_tokens (exp);

-- Revoked access tokens: durable tombstones until the token's own expiry; a revocation needs no
-- record (the record may still be gathering in a batch, or lost with its replica).
CREATE TABLE revoked_access_tokens (
  app  text COLLATE "C"  NOT NULL,
  jti  text COLLATE "C"  NOT NULL,
  exp  bigint            NOT NULL,
  PRIMARY KEY (app, jti)
);
CREATE INDEX revoked_access_tokens_exp ON revoked_access_tokens (exp);

-- Refresh token families (FamilyRecord): one grant's chain of rotated refresh tokens.
CREATE TABLE refresh_families (
  app         text COLLATE "C"  NOT NULL,
  id          text COLLATE "C"  NOT NULL,
  sub         text COLLATE "C"  NOT NULL,
  iat         bigint            NOT NULL,
  -- No token of the family lives past it.
  exp         bigint            NOT NULL,
  revoked_at  bigint,
  PRIMARY KEY (app, id)
);
CREATE INDEX refresh_families_exp ON refresh_families (exp);

-- Refresh tokens (RefreshTokenRecord), by the SHA-256 of the token. A rotation is one statement:
-- UPDATE refresh_tokens SET used_at = $now WHERE app = $1 AND id = $2 AND used_at IS NULL
-- RETURNING …, with the next token inserted in the same statement (a CTE): of concurrent
-- rotations on any replicas exactly one updates the row.
CREATE TABLE refresh_tokens (
  app           text COLLATE "C"  NOT NULL,
  id            text COLLATE "C"  NOT NULL,
  client_id     text              NOT NULL,
  sub           text COLLATE "C"  NOT NULL,
  scope         text              NOT NULL,
  iat           bigint            NOT NULL,
  exp           bigint            NOT NULL,
  family        text COLLATE "C"  NOT NULL,
  used_at       bigint,
  issued_under  jsonb,
  PRIMARY KEY (app, id),
  FOREIGN KEY (app, family) REFERENCES refresh_families (app, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (app, family);
CREATE INDEX refresh_tokens_exp ON refresh_tokens (exp);

-- Used client assertion ids (RFC 7523 jti), until the assertion's expiry: INSERT … ON CONFLICT
-- DO UPDATE … WHERE the old one has expired accepts an id once across replicas.
CREATE TABLE used_assertion_ids (
  app  text COLLATE "C"  NOT NULL,
  jti  text COLLATE "C"  NOT NULL,
  exp  bigint            NOT NULL,
  PRIMARY KEY (app, jti)
);
CREATE INDEX used_assertion_ids_exp ON used_assertion_ids (exp);

-- The one cut-off generation counter all replicas share, and the shared head: the newest commit
-- any replica has applied (NULL before the first). A replica about to apply a commit locks this
-- row (SELECT … FOR UPDATE), and when the commit is newer than the head writes its cut-offs at
-- the next value and moves the head, in one transaction (postgres/config-head.ts): the row lock
-- orders the writers, so generations become visible in commit order (a sequence would not: a
-- replica reading "generation > n" could pass over one still uncommitted), and a commit two
-- replicas apply at once has its cut-offs written once.
CREATE TABLE cut_off_generation (
  only_row     boolean  PRIMARY KEY DEFAULT true CHECK (only_row),
  value        bigint   NOT NULL,
  head_commit  text
);
INSERT INTO cut_off_generation (value) VALUES (0);

-- Cut-offs (CutOff), written by the reconciler's apply only: the last deactivation of an
-- application, removal or password change of a user, withdrawal of an audience or a scope. Never
-- swept. Each replica copies the ones newer than the generation it knows (the index on
-- generation) into its LMDB, in the transaction that applies the commit.
CREATE TABLE cut_offs (
  kind        text              NOT NULL CHECK (kind IN ('application', 'user', 'audience', 'scope')),
  target      text COLLATE "C"  NOT NULL,
  generation  bigint            NOT NULL,
  at_ms       bigint            NOT NULL,
  PRIMARY KEY (kind, target)
);
CREATE INDEX cut_offs_generation ON cut_offs (generation);

-- The signing keyring (Keyring), one row replaced whole under an expected version, so two
-- replicas rotating at once cannot both win. Private keys are kept only sealed (sealedPrivateJwk,
-- encrypted with a key derived from the data directory's keys): the check refuses a key in the
-- clear, so a dump of this database cannot sign tokens.
CREATE TABLE signing_keyring (
  only_row  boolean  PRIMARY KEY DEFAULT true CHECK (only_row),
  version   bigint   NOT NULL,
  keyring   jsonb    NOT NULL CHECK (NOT jsonb_path_exists(keyring, '$.keys[*].privateJwk'))
);

-- Portal sign-in sessions (SessionRecord), by the SHA-256 of the session id. A user's live
-- sessions, least recently seen first, are bounded at creation (the index on user_name); the
-- sweep removes those past expires_ms or idle since last_seen_ms.
CREATE TABLE portal_sessions (
  id            text COLLATE "C"  PRIMARY KEY,
  user_name     text COLLATE "C"  NOT NULL,
  expires_ms    bigint            NOT NULL,
  last_seen_ms  bigint            NOT NULL,
  record        jsonb             NOT NULL
);
CREATE INDEX portal_sessions_user ON portal_sessions (user_name, last_seen_ms);
CREATE INDEX portal_sessions_expires ON portal_sessions (expires_ms);
CREATE INDEX portal_sessions_last_seen ON portal_sessions (last_seen_ms);

-- Remembered consents (ConsentRecord): per user and application, the scopes agreed to last.
-- A user's consents are a range of the primary key.
CREATE TABLE consents (
  user_name        text COLLATE "C"  NOT NULL,
  app              text COLLATE "C"  NOT NULL,
  scopes           text[]            NOT NULL,
  granted_ms       bigint            NOT NULL,
  user_generation  bigint            NOT NULL,
  -- Signed in by a first-party application without being asked (ConsentRecord.firstParty).
  first_party      boolean           NOT NULL DEFAULT false,
  PRIMARY KEY (user_name, app)
);

-- Authorization codes (AuthorizationCodeRecord), by the SHA-256 of the code, until keep_until.
-- Redemption is one statement: UPDATE … SET redeemed_at = $now WHERE id = $1 AND redeemed_at IS
-- NULL AND exp > $now, in the transaction that writes the grant. The columns are what is
-- queried; the rest of the record (redirect URI, challenge, scope, audiences, nonce, auth time,
-- issuedUnder, what a redemption issued) is in `record`.
CREATE TABLE authorization_codes (
  id           text COLLATE "C"  PRIMARY KEY,
  app          text COLLATE "C"  NOT NULL,
  sub          text COLLATE "C"  NOT NULL,
  exp          bigint            NOT NULL,
  keep_until   bigint            NOT NULL,
  redeemed_at  bigint,
  record       jsonb             NOT NULL
);
-- Withdrawing a consent forgets the codes the person gave that app and has not exchanged yet.
CREATE INDEX authorization_codes_unredeemed ON authorization_codes (sub, app) WHERE redeemed_at IS NULL;
CREATE INDEX authorization_codes_keep_until ON authorization_codes (keep_until);

