-- The scim-sqlx schema (SQLite). Every key and index starts with the tenant, and every
-- statement of the store names one tenant.

-- One row per resource (RFC 7643 §3).
CREATE TABLE scim_resources (
    tenant              TEXT    NOT NULL,
    resource_type       TEXT    NOT NULL,
    id                  TEXT    NOT NULL,
    -- The attributes as JSON text, exactly as the engine wrote them (no id, meta, members).
    body                TEXT    NOT NULL,
    -- The same JSON with every string case-folded in Rust (scim_core::store::fold_case),
    -- for case-insensitive filters and sorts.
    folded              TEXT    NOT NULL,
    created             INTEGER NOT NULL,   -- ms since the Unix epoch
    last_modified       INTEGER NOT NULL,   -- ms since the Unix epoch
    version             INTEGER NOT NULL,   -- RFC 7644 §3.14 version counter
    -- Typed copies of what is looked up and sorted often.
    user_name           TEXT,
    user_name_folded    TEXT,
    external_id         TEXT,
    external_id_folded  TEXT,
    display_name        TEXT,
    display_name_folded TEXT,
    active              INTEGER,
    -- The key of the type's first `uniqueness: server` attribute (a User's folded userName):
    -- its unique index makes the common write one statement. Further unique attributes
    -- live in scim_unique.
    unique_key          TEXT,
    PRIMARY KEY (tenant, resource_type, id)
);
CREATE UNIQUE INDEX scim_resources_unique_key ON scim_resources (tenant, resource_type, unique_key);
CREATE INDEX scim_resources_user_name ON scim_resources (tenant, resource_type, user_name_folded);
CREATE INDEX scim_resources_external_id ON scim_resources (tenant, resource_type, external_id);
CREATE INDEX scim_resources_display_name ON scim_resources (tenant, resource_type, display_name_folded);

-- The unique values of every further `uniqueness: server` attribute (RFC 7643 §2.2), folded
-- unless caseExact: the primary key makes them unique per tenant and resource type.
CREATE TABLE scim_unique (
    tenant        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    attribute     TEXT NOT NULL,
    value_key     TEXT NOT NULL,
    id            TEXT NOT NULL,
    PRIMARY KEY (tenant, resource_type, attribute, value_key)
);
CREATE INDEX scim_unique_owner ON scim_unique (tenant, resource_type, id);

-- Group members (RFC 7643 §4.2), one row each, in insertion order (`position`).
CREATE TABLE scim_members (
    tenant             TEXT    NOT NULL,
    resource_type      TEXT    NOT NULL,   -- the Group's resource type
    group_id           TEXT    NOT NULL,
    member             TEXT    NOT NULL,   -- the member's id (`value`)
    member_type        TEXT,
    member_type_folded TEXT,
    display            TEXT,
    display_folded     TEXT,
    position           INTEGER NOT NULL,
    PRIMARY KEY (tenant, resource_type, group_id, member)
);
CREATE INDEX scim_members_member ON scim_members (tenant, member);
CREATE INDEX scim_members_position ON scim_members (tenant, resource_type, group_id, position);
