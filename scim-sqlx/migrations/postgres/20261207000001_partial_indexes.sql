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

-- Room on every page for the next version of its rows: PostgreSQL can update a row in place
-- (HOT) only when the new version fits on the same page. PATCH and PUT are most of what IdPs
-- send after the first sync; a full page made most of them write to every index.
ALTER TABLE scim_resources SET (fillfactor = 80);
