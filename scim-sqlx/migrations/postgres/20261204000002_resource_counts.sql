-- How many resources each tenant holds of each type, kept by a trigger in the transaction
-- that inserts or deletes the resource: `totalResults` of an unfiltered list (RFC 7644
-- §3.4.2) is a sum over a few rows instead of a count over every index entry of the tenant.
-- Each connection adds to its own shard (its backend pid modulo 32), so concurrent creates
-- from many connections and replicas do not queue on one counter row; a shard may go
-- negative when a resource is deleted through another connection than created it, the sum
-- is exact.
CREATE TABLE scim_counts (
    tenant        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    shard         INTEGER NOT NULL,
    n             BIGINT  NOT NULL,
    PRIMARY KEY (tenant, resource_type, shard)
);

INSERT INTO scim_counts (tenant, resource_type, shard, n)
    SELECT tenant, resource_type, 0, COUNT(*) FROM scim_resources GROUP BY tenant, resource_type;

CREATE FUNCTION scim_count_resources() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO scim_counts (tenant, resource_type, shard, n)
            VALUES (NEW.tenant, NEW.resource_type, pg_backend_pid() % 32, 1)
            ON CONFLICT (tenant, resource_type, shard) DO UPDATE SET n = scim_counts.n + 1;
    ELSE
        INSERT INTO scim_counts (tenant, resource_type, shard, n)
            VALUES (OLD.tenant, OLD.resource_type, pg_backend_pid() % 32, -1)
            ON CONFLICT (tenant, resource_type, shard) DO UPDATE SET n = scim_counts.n - 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER scim_resources_counted AFTER INSERT OR DELETE ON scim_resources
    FOR EACH ROW EXECUTE FUNCTION scim_count_resources();
