#!/usr/bin/env python3
"""Seeds a running SCIM server with N users through its own API (RFC 7644 §3.7 Bulk, as an
IdP's initial push would), and writes their ids, one per line in order, to IDS_FILE.

User i is userName `user{i}` with the attributes the load-test baseline serves
(examples/src/bench_users.rs), so both servers answer the same filters with the same users.

Usage: scripts/seed-users.py BASE_URL TOKEN N IDS_FILE      (BASE_URL on 127.0.0.1 only)
"""
import json
import sys
import urllib.request

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BATCH = 500


def user(i):
    return {
        "schemas": [USER],
        "userName": f"user{i}",
        "externalId": f"ext-{i}",
        "name": {"givenName": f"Given{i}", "familyName": f"Family{i}", "formatted": f"Given{i} Family{i}"},
        "displayName": f"User {i}",
        "active": True,
        "emails": [{"value": f"user{i}@example.com", "type": "work", "primary": True}],
    }


def main():
    base, token, n, ids_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if not base.startswith("http://127.0.0.1:"):
        sys.exit(f"refusing a non-loopback base URL: {base}")
    ids = []
    for start in range(0, n, BATCH):
        operations = [
            {"method": "POST", "path": "/Users", "bulkId": f"u{i}", "data": user(i)}
            for i in range(start, min(start + BATCH, n))
        ]
        request = urllib.request.Request(
            f"{base}/Bulk",
            data=json.dumps({"schemas": [BULK], "Operations": operations}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.load(response)
        for op in answer["Operations"]:
            if op.get("status") != "201":
                sys.exit(f"seeding failed: {json.dumps(op)}")
            ids.append(op["location"].rsplit("/", 1)[1])
    with open(ids_file, "w") as out:
        out.write("\n".join(ids) + "\n")


if __name__ == "__main__":
    main()
