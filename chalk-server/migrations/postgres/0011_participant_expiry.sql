-- A participant's presence ends when its tokens do (docs/api.md "Usage metering":
-- participant time runs "join → leave, kick, room end or token expiry").
--
-- tokens_expire_at is the `exp` of the last refresh token minted for the participant: set
-- by the join's INSERT and by every renewal's UPDATE (the statement that bumps
-- token_generation), to the very value signed into that token. Once it has passed no token
-- of the participant can be valid or renewed, so the room sweeper ends it (left_at =
-- tokens_expire_at) and its time stops counting at that instant (store/participants.rs
-- `end_expired`).
--
-- Rows from before this migration get no value here: SQL cannot know when their last
-- refresh token was minted nor the deployment's CHALK_REFRESH_TOKEN_TTL. The server fills
-- them at start-up with (start + the configured TTL), an upper bound of any refresh token
-- minted before it (app/startup.rs); until then NULL means "not ended by expiry".
ALTER TABLE participants ADD COLUMN tokens_expire_at BIGINT;

-- The sweeper's question: which present participants' tokens have all expired.
CREATE INDEX participants_tokens_expire ON participants (tokens_expire_at)
  WHERE left_at IS NULL;
