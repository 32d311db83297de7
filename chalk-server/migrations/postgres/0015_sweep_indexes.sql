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
