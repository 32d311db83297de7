-- The room sweeper (workers/room_sweeper.rs) runs every 30 s. Its two scans walked whole
-- tables in the order they page by: every participant ever (`participants_room`, by tenant)
-- for present participants whose tokens expired, and every room ever (by `seq`) for open
-- rooms left empty. Both tables keep their history, so the sweep grew with it. These
-- indexes hold only what each scan looks for, in its order: present participants, and open
-- rooms waiting empty.
CREATE INDEX participants_present_expiry ON participants (tenant_id, tokens_expire_at)
  WHERE left_at IS NULL;
CREATE INDEX rooms_waiting_empty ON rooms (seq)
  WHERE ended_at IS NULL AND empty_since IS NOT NULL;
-- What they replace, so that a join, a leave and a token renewal keep as many indexes to
-- write as before: no query reads rooms_empty_since any more, and the queries that read
-- participants_tokens_expire (the per-tenant expiry, the start's bound on rows from before
-- 0011) now read participants_present_expiry, which holds the same rows.
DROP INDEX rooms_empty_since;
DROP INDEX participants_tokens_expire;
