-- How many resources each tenant holds of each type, kept by triggers in the transaction
-- that inserts or deletes the resource: `totalResults` of an unfiltered list (RFC 7644
-- §3.4.2) is one lookup instead of a count over every index entry of the tenant.
CREATE TABLE scim_counts (
    tenant        TEXT    NOT NULL,
    resource_type TEXT    NOT NULL,
    n             INTEGER NOT NULL,
    PRIMARY KEY (tenant, resource_type)
) WITHOUT ROWID;

INSERT INTO scim_counts (tenant, resource_type, n)
    SELECT tenant, resource_type, COUNT(*) FROM scim_resources GROUP BY tenant, resource_type;

CREATE TRIGGER scim_resources_counted AFTER INSERT ON scim_resources
BEGIN
    INSERT INTO scim_counts (tenant, resource_type, n) VALUES (NEW.tenant, NEW.resource_type, 1)
        ON CONFLICT (tenant, resource_type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER scim_resources_uncounted AFTER DELETE ON scim_resources
BEGIN
    UPDATE scim_counts SET n = n - 1
        WHERE tenant = OLD.tenant AND resource_type = OLD.resource_type;
END;
