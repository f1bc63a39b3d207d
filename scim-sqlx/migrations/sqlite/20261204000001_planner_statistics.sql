-- Planner statistics for a database that has never been analysed. Without them SQLite's
-- planner cannot tell that a `userName` or `externalId` index finds one row among a million,
-- and it walks the primary key to avoid sorting `ORDER BY id` instead (a full scan).
-- These rows describe the expected shape (many rows per tenant and resource type, one per
-- userName, externalId or unique value, few groups per member); `PRAGMA optimize`, which
-- the store runs as connections close, replaces them with measured ones as the data grows.
ANALYZE;
DELETE FROM sqlite_stat1 WHERE tbl IN ('scim_resources', 'scim_unique', 'scim_members');
INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES
    ('scim_resources', NULL, '1000000'),
    ('scim_resources', 'sqlite_autoindex_scim_resources_1', '1000000 100000 50000 1'),
    ('scim_resources', 'scim_resources_user_name', '1000000 100000 50000 1'),
    ('scim_resources', 'scim_resources_external_id', '1000000 100000 50000 1'),
    ('scim_resources', 'scim_resources_display_name', '1000000 100000 50000 2'),
    ('scim_resources', 'scim_resources_unique_key', '1000000 100000 50000 1'),
    ('scim_unique', NULL, '1000000'),
    ('scim_unique', 'sqlite_autoindex_scim_unique_1', '1000000 100000 50000 50000 1'),
    ('scim_unique', 'scim_unique_owner', '1000000 100000 50000 1'),
    ('scim_members', NULL, '1000000'),
    ('scim_members', 'sqlite_autoindex_scim_members_1', '1000000 100000 50000 1000 1'),
    ('scim_members', 'scim_members_member', '1000000 100000 5'),
    ('scim_members', 'scim_members_position', '1000000 100000 50000 1000 1');
