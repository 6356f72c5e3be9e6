-- Deletion protection (spec section 19): a protected key refuses ScheduleKeyDeletion.
-- The description counts only while protection is on; clearing protection clears it.

ALTER TABLE keys ADD COLUMN deletion_protection boolean NOT NULL DEFAULT false;
ALTER TABLE keys ADD COLUMN deletion_protection_description text NOT NULL DEFAULT '';
