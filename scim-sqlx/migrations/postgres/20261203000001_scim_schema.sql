-- The scim-sqlx schema (PostgreSQL). Every key and index starts with the tenant, and every
-- statement of the store names one tenant, so the tables distribute by `tenant` on a
-- distributed PostgreSQL (e.g. Citus: SELECT create_distributed_table('scim_resources',
-- 'tenant'), and the same for the other tables) without change.
-- Text that is ordered or compared for order uses COLLATE "C" (code point order, as Rust).

CREATE TABLE scim_resources (
    tenant              TEXT COLLATE "C" NOT NULL,
    resource_type       TEXT COLLATE "C" NOT NULL,
    id                  TEXT COLLATE "C" NOT NULL,
    -- The attributes as JSON text, exactly as the engine wrote them (no id, meta, members).
    body                TEXT NOT NULL,
    -- The same, as jsonb, for filters.
    doc                 JSONB GENERATED ALWAYS AS (body::jsonb) STORED,
    -- The JSON with every string case-folded in Rust, for case-insensitive filters and sorts.
    folded              JSONB NOT NULL,
    created             BIGINT NOT NULL,   -- ms since the Unix epoch
    last_modified       BIGINT NOT NULL,   -- ms since the Unix epoch
    version             BIGINT NOT NULL,   -- RFC 7644 §3.14 version counter
    user_name           TEXT COLLATE "C",
    user_name_folded    TEXT COLLATE "C",
    external_id         TEXT COLLATE "C",
    external_id_folded  TEXT COLLATE "C",
    display_name        TEXT COLLATE "C",
    display_name_folded TEXT COLLATE "C",
    active              BOOLEAN,
    -- The key of the type's first `uniqueness: server` attribute (a User's folded userName):
    -- its unique index makes the common write one statement. Further unique attributes
    -- live in scim_unique.
    unique_key          TEXT COLLATE "C",
    PRIMARY KEY (tenant, resource_type, id)
);
CREATE UNIQUE INDEX scim_resources_unique_key ON scim_resources (tenant, resource_type, unique_key);
CREATE INDEX scim_resources_user_name ON scim_resources (tenant, resource_type, user_name_folded);
CREATE INDEX scim_resources_external_id ON scim_resources (tenant, resource_type, external_id);
CREATE INDEX scim_resources_display_name ON scim_resources (tenant, resource_type, display_name_folded);

CREATE TABLE scim_unique (
    tenant        TEXT COLLATE "C" NOT NULL,
    resource_type TEXT COLLATE "C" NOT NULL,
    attribute     TEXT COLLATE "C" NOT NULL,
    value_key     TEXT COLLATE "C" NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, resource_type, attribute, value_key)
);
CREATE INDEX scim_unique_owner ON scim_unique (tenant, resource_type, id);

CREATE TABLE scim_members (
    tenant             TEXT COLLATE "C" NOT NULL,
    resource_type      TEXT COLLATE "C" NOT NULL,
    group_id           TEXT COLLATE "C" NOT NULL,
    member             TEXT COLLATE "C" NOT NULL,
    member_type        TEXT COLLATE "C",
    member_type_folded TEXT COLLATE "C",
    display            TEXT COLLATE "C",
    display_folded     TEXT COLLATE "C",
    position           BIGINT NOT NULL,
    PRIMARY KEY (tenant, resource_type, group_id, member)
);
CREATE INDEX scim_members_member ON scim_members (tenant, member);
CREATE INDEX scim_members_position ON scim_members (tenant, resource_type, group_id, position);
