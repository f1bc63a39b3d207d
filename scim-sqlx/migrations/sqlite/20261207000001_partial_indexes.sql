-- Two typed columns are now filled only where something reads them, and their indexes hold
-- only the rows that have a value (a lookup `column = ?` implies one, so it still uses
-- them). A User's insert then adds no entry to either index, and a User's rename changes no
-- indexed column, which PostgreSQL does in place.
--
-- * display_name(_folded): only for resource types with members (Groups), which IdPs look
--   up by displayName; a User's displayName is read from the JSON.
-- * user_name_folded: only when userName is not the type's unique key; when it is (Users),
--   unique_key holds the same folded value under its unique index, and lookups read that.
--
-- Rows written before keep their old values until their next write; nothing reads them.
DROP INDEX scim_resources_display_name;
CREATE INDEX scim_resources_display_name ON scim_resources (tenant, resource_type, display_name_folded)
    WHERE display_name_folded IS NOT NULL;
DROP INDEX scim_resources_user_name;
CREATE INDEX scim_resources_user_name ON scim_resources (tenant, resource_type, user_name_folded)
    WHERE user_name_folded IS NOT NULL;

-- Dropping an index drops its planner statistics: give the new ones the expected shape (see
-- 20261204000001_planner_statistics.sql) until `PRAGMA optimize` measures them.
DELETE FROM sqlite_stat1 WHERE tbl = 'scim_resources'
    AND idx IN ('scim_resources_display_name', 'scim_resources_user_name');
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('scim_resources', 'scim_resources_user_name', '1000000 100000 50000 1'),
    ('scim_resources', 'scim_resources_display_name', '1000000 100000 50000 2');
