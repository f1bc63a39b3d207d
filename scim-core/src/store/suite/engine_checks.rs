//! The checks that run a store behind a [`ScimEngine`], through requests: whatever the
//! store applies itself and whatever the engine falls back to, the answers are the SCIM ones.

use super::{Context, Fixture, Outcome, ensure, ensure_eq};
use crate::auth::InsecureNoAuthentication;
use crate::engine::ScimEngine;
use crate::http::{Method, ScimRequest, ScimResponse};
use crate::revoke::NoSessionsToRevoke;
use crate::store::Store;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

const BASE: &str = "https://suite.example/scim/v2";

/// Percent-encodes a query parameter value (RFC 3986 §2.1; everything but unreserved).
fn enc(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Client {
    engine: ScimEngine,
}

impl Client {
    fn new<S: Store>(store: Arc<S>, fx: &Fixture) -> Result<Self, String> {
        let engine = ScimEngine::builder(store)
            .registry(fx.registry.clone())
            .authenticator(InsecureNoAuthentication::for_tenant(fx.a.tenant()))
            .revoker(NoSessionsToRevoke)
            .build()
            .ctx("build the engine")?;
        Ok(Self { engine })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> ScimResponse {
        let mut req = ScimRequest::new(method, path).with_base_url(BASE);
        if !query.is_empty() {
            req = req.with_query(query);
        }
        if let Some(tag) = if_match {
            req = req.with_header("if-match", tag);
        }
        if let Some(body) = body {
            req = req
                .with_header("content-type", "application/scim+json")
                .with_body(body.to_string().into_bytes());
        }
        self.engine.handle(req).await
    }

    async fn create(&self, path: &str, body: Value) -> Result<String, String> {
        let res = self.call(Method::Post, path, "", Some(&body), None).await;
        ensure_eq!(
            res.status,
            201,
            "POST {path}: {}",
            String::from_utf8_lossy(&res.body)
        );
        res.json()["id"]
            .as_str()
            .map(str::to_owned)
            .ctx("id of the created resource")
    }

    /// `GET path?query`, expecting 200; the ListResponse.
    async fn list(&self, path: &str, query: &str) -> Result<Value, String> {
        let res = self.call(Method::Get, path, query, None, None).await;
        ensure_eq!(
            res.status,
            200,
            "GET {path}?{query}: {}",
            String::from_utf8_lossy(&res.body)
        );
        Ok(res.json())
    }

    async fn patch(
        &self,
        path: &str,
        query: &str,
        operations: Value,
        if_match: Option<&str>,
    ) -> ScimResponse {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations
        });
        self.call(Method::Patch, path, query, Some(&body), if_match)
            .await
    }
}

fn resource_ids(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|v| v["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn expect_error(
    res: &ScimResponse,
    status: u16,
    scim_type: &str,
    what: &str,
) -> Result<(), String> {
    ensure_eq!(
        res.status,
        status,
        "{what}: {}",
        String::from_utf8_lossy(&res.body)
    );
    ensure_eq!(res.json()["scimType"], json!(scim_type), "{what}: scimType");
    Ok(())
}

fn etag(res: &ScimResponse) -> Option<String> {
    res.header("etag").map(str::to_owned)
}

pub(super) async fn filters_through_the_engine<S: Store>(store: Arc<S>, fx: &Fixture) -> Outcome {
    let client = Client::new(store, fx)?;
    // Type errors are errors whatever the data: on an empty store too.
    for bad in [
        "active gt true",
        r#"userName eq "nobody" and active gt true"#,
        "emails[value gt true]",
        r#"title co 5"#,
        "meta.created sw true",
    ] {
        let res = client
            .call(
                Method::Get,
                "/Users",
                &format!("filter={}", enc(bad)),
                None,
                None,
            )
            .await;
        expect_error(
            &res,
            400,
            "invalidFilter",
            &format!("`{bad}` on an empty store"),
        )?;
    }
    let mut users = Vec::new();
    for i in 0..12usize {
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("u{i:02}"),
            "active": i % 2 == 0,
            "emails": [{"value": format!("u{i}@example.com"), "type": if i % 2 == 0 { "work" } else { "home" }}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": format!("{}", i % 5)}
        });
        if i % 3 == 0 {
            body["title"] = json!("Lead");
        }
        users.push(client.create("/Users", body).await?);
    }
    let g1 = client
        .create(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G1", "members": [{"value": users[0]}, {"value": users[1]}]}),
        )
        .await?;
    let g2 = client
        .create(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G2", "members": [{"value": users[1]}]}),
        )
        .await?;
    let set =
        |idx: &[usize]| -> BTreeSet<String> { idx.iter().map(|&i| users[i].clone()).collect() };
    let all: Vec<usize> = (0..12).collect();
    let cases: Vec<(String, BTreeSet<String>)> = vec![
        (r#"userName eq "U03""#.into(), set(&[3])),
        (
            r#"userName sw "u0" and active eq true"#.into(),
            set(&[0, 2, 4, 6, 8]),
        ),
        ("title pr".into(), set(&[0, 3, 6, 9])),
        ("not (title pr)".into(), set(&[1, 2, 4, 5, 7, 8, 10, 11])),
        (
            r#"emails[type eq "work" and value ew "EXAMPLE.COM"]"#.into(),
            set(&[0, 2, 4, 6, 8, 10]),
        ),
        (r#"employeeNumber eq "2""#.into(), set(&[2, 7])),
        (format!(r#"groups.value eq "{g1}""#), set(&[0, 1])),
        (r#"groups[display eq "g2"]"#.into(), set(&[1])),
        (
            format!(r#"groups.value eq "{g1}" and userName eq "u01""#),
            set(&[1]),
        ),
        (
            format!(r#"userName eq "u05" or groups.value eq "{g2}""#),
            set(&[1, 5]),
        ),
        (
            format!(r#"not (groups.value eq "{g1}")"#),
            set(&[2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
        ),
        (r#"nosuch eq "x""#.into(), set(&[])),
        (r#"not (nosuch eq "x")"#.into(), set(&all)),
    ];
    for (filter, expected) in cases {
        let list = client
            .list("/Users", &format!("filter={}", enc(&filter)))
            .await?;
        let got: BTreeSet<String> = resource_ids(&list).into_iter().collect();
        ensure_eq!(got, expected, "results of `{filter}`");
        ensure_eq!(
            list["totalResults"],
            json!(expected.len()),
            "totalResults of `{filter}`"
        );
        // Pages of it are slices of it, in `id` order.
        let page = client
            .list(
                "/Users",
                &format!("filter={}&startIndex=2&count=2", enc(&filter)),
            )
            .await?;
        let ordered: Vec<String> = expected.iter().cloned().collect();
        let slice: Vec<String> = ordered.iter().skip(1).take(2).cloned().collect();
        ensure_eq!(resource_ids(&page), slice, "page 2..3 of `{filter}`");
        ensure_eq!(
            page["totalResults"],
            json!(expected.len()),
            "paged totalResults of `{filter}`"
        );
    }
    let list = client
        .list(
            "/Groups",
            &format!(
                "filter={}",
                enc(&format!(r#"members.value eq "{}""#, users[1]))
            ),
        )
        .await?;
    let got: BTreeSet<String> = resource_ids(&list).into_iter().collect();
    ensure_eq!(
        got,
        BTreeSet::from([g1.clone(), g2.clone()]),
        "groups by members.value"
    );
    let list = client
        .list(
            "/Groups",
            &format!(
                "filter={}&excludedAttributes=members",
                enc(r#"displayName eq "g1""#)
            ),
        )
        .await?;
    ensure_eq!(
        resource_ids(&list),
        vec![g1.clone()],
        "groups by displayName, without members"
    );
    ensure!(
        list["Resources"][0].get("members").is_none(),
        "excludedAttributes=members: {list}"
    );
    Ok(None)
}

pub(super) async fn sorting_through_the_engine<S: Store>(store: Arc<S>, fx: &Fixture) -> Outcome {
    let client = Client::new(store, fx)?;
    let rows = [
        ("delta", Some("b"), None),
        ("Alpha", None, Some("z@example.com")),
        ("charlie", Some("A"), Some("a@example.com")),
        ("bravo", Some("c"), None),
    ];
    for (name, title, email) in rows {
        let mut body =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
        if let Some(t) = title {
            body["title"] = json!(t);
        }
        if let Some(e) = email {
            body["emails"] = json!([{"value": "first@example.com"}, {"value": e, "primary": true}]);
        }
        client.create("/Users", body).await?;
    }
    let names = |list: &Value| -> Vec<String> {
        list["Resources"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|v| v["userName"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let cases = [
        (
            "sortBy=userName",
            vec!["Alpha", "bravo", "charlie", "delta"],
        ),
        (
            "sortBy=USERNAME&sortOrder=descending",
            vec!["delta", "charlie", "bravo", "Alpha"],
        ),
        ("sortBy=title", vec!["charlie", "delta", "bravo", "Alpha"]),
        (
            "sortBy=title&sortOrder=descending",
            vec!["Alpha", "bravo", "delta", "charlie"],
        ),
        // By the primary email; resources without one last, ties in `id` (creation) order.
        (
            "sortBy=emails.value",
            vec!["charlie", "Alpha", "delta", "bravo"],
        ),
        ("sortBy=emails", vec!["charlie", "Alpha", "delta", "bravo"]),
        (
            "sortBy=emails.value&sortOrder=descending",
            vec!["delta", "bravo", "Alpha", "charlie"],
        ),
        (
            "sortBy=userName&startIndex=2&count=2",
            vec!["bravo", "charlie"],
        ),
        (
            "sortBy=title&sortOrder=descending&filter=title%20pr",
            vec!["bravo", "delta", "charlie"],
        ),
    ];
    for (query, expected) in cases {
        let list = client.list("/Users", query).await?;
        ensure_eq!(names(&list), expected, "userNames of ?{query}");
    }
    for bad in [
        "sortBy=nosuch",
        "sortBy=name",
        "sortBy=userName&sortOrder=up",
    ] {
        let res = client.call(Method::Get, "/Users", bad, None, None).await;
        expect_error(&res, 400, "invalidValue", &format!("?{bad}"))?;
    }
    Ok(None)
}

/// Walks every page of `query` with cursors of `count`; `between` runs after each page.
async fn walk(
    client: &Client,
    query: &str,
    count: usize,
    mut between: impl AsyncFnMut(usize) -> Result<(), String>,
) -> Result<Vec<String>, String> {
    let mut cursor = String::new();
    let mut seen = Vec::new();
    for page_no in 0..1000 {
        let list = client
            .list(
                "/Users",
                &format!("{query}&count={count}&cursor={}", enc(&cursor)),
            )
            .await?;
        let page = resource_ids(&list);
        ensure!(
            page.len() <= count,
            "a cursor page holds at most `count` resources: {list}"
        );
        ensure!(
            list.get("startIndex").is_none(),
            "a cursor page has no startIndex: {list}"
        );
        ensure_eq!(list["itemsPerPage"], json!(page.len()), "itemsPerPage");
        seen.extend(page);
        match list["nextCursor"].as_str() {
            None => return Ok(seen),
            Some(next) => {
                ensure!(
                    !list["Resources"].as_array().is_none_or(Vec::is_empty),
                    "a page with a nextCursor is not empty"
                );
                cursor = next.to_owned();
            }
        }
        between(page_no).await?;
    }
    Err("the cursor walk did not end".into())
}

pub(super) async fn cursor_paging_through_the_engine<S: Store>(
    store: Arc<S>,
    fx: &Fixture,
) -> Outcome {
    let client = Client::new(store, fx)?;
    let mut ids = Vec::new();
    for i in 0..23 {
        ids.push(
            client
                .create("/Users", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("page{i:03}")}))
                .await?,
        );
    }
    let seen = walk(&client, "", 5, async |_| Ok(())).await?;
    ensure_eq!(
        seen,
        ids,
        "an unsorted walk visits every resource once, in id order"
    );
    let seen = walk(
        &client,
        "sortBy=userName&sortOrder=descending",
        4,
        async |_| Ok(()),
    )
    .await?;
    let mut reversed = ids.clone();
    reversed.reverse();
    ensure_eq!(seen, reversed, "a sorted walk");
    let seen = walk(
        &client,
        &format!("filter={}", enc(r#"userName ew "1""#)),
        1,
        async |_| Ok(()),
    )
    .await?;
    ensure_eq!(
        seen,
        vec![ids[1].clone(), ids[11].clone(), ids[21].clone()],
        "a filtered walk"
    );

    // Resources that exist throughout the walk are visited exactly once while others come
    // and go between pages.
    let doomed = ids[22].clone();
    let seen = walk(&client, "", 5, async |page_no| {
        match page_no {
            0 => {
                client
                    .create("/Users", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "newcomer"}))
                    .await?;
            }
            1 => {
                let res = client
                    .call(Method::Delete, &format!("/Users/{doomed}"), "", None, None)
                    .await;
                ensure_eq!(res.status, 204, "delete between pages");
            }
            _ => {}
        }
        Ok(())
    })
    .await?;
    let unique: BTreeSet<&String> = seen.iter().collect();
    ensure_eq!(unique.len(), seen.len(), "no resource visited twice");
    ensure!(
        ids[..22].iter().all(|id| unique.contains(id)),
        "every resource that existed throughout the walk was visited"
    );

    let first = client.list("/Users", "count=2&cursor=").await?;
    let next = first["nextCursor"].as_str().ctx("nextCursor")?.to_owned();
    for (query, what) in [
        ("count=2&cursor=not-a-cursor".to_owned(), "a made-up cursor"),
        (
            format!("count=2&cursor={}&filter={}", enc(&next), enc("title pr")),
            "a cursor of another filter",
        ),
        (
            format!("count=2&cursor={}&sortBy=userName", enc(&next)),
            "a cursor of another sort",
        ),
    ] {
        let res = client.call(Method::Get, "/Users", &query, None, None).await;
        expect_error(&res, 400, "invalidCursor", what)?;
    }
    let res = client
        .call(Method::Get, "/Users", "cursor=&startIndex=1", None, None)
        .await;
    expect_error(&res, 400, "invalidValue", "cursor with startIndex")?;
    let totals = client.list("/Users", "count=0&cursor=").await?;
    ensure!(
        totals.get("nextCursor").is_none(),
        "count=0 has no nextCursor: {totals}"
    );
    ensure_eq!(totals["totalResults"], json!(23), "count=0 totalResults");
    let whole = client.list("/Users", "count=100&cursor=").await?;
    ensure!(
        whole.get("nextCursor").is_none(),
        "the last page has no nextCursor"
    );
    Ok(None)
}

pub(super) async fn membership_patches_through_the_engine<S: Store>(
    store: Arc<S>,
    fx: &Fixture,
) -> Outcome {
    let client = Client::new(store, fx)?;
    let a = client
        .create(
            "/Users",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "alice"}),
        )
        .await?;
    let b = client
        .create(
            "/Users",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bob"}),
        )
        .await?;
    let g = client
        .create(
            "/Groups",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Team", "members": [{"value": a}]}),
        )
        .await?;
    let path = format!("/Groups/{g}");
    let add_b = json!([{"op": "add", "path": "members", "value": [{"value": b, "type": "User"}]}]);

    let res = client.patch(&path, "", add_b.clone(), None).await;
    ensure_eq!(
        res.status,
        204,
        "members-only PATCH: {}",
        String::from_utf8_lossy(&res.body)
    );
    ensure_eq!(
        etag(&res).as_deref(),
        Some(r#"W/"2""#),
        "ETag after adding a member"
    );
    let got = client.call(Method::Get, &path, "", None, None).await;
    ensure_eq!(
        etag(&got).as_deref(),
        Some(r#"W/"2""#),
        "GET's ETag after adding a member"
    );
    let members: Vec<Value> = got.json()["members"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ensure_eq!(
        members
            .iter()
            .map(|m| m["value"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>(),
        vec![a.clone(), b.clone()],
        "members after add"
    );
    ensure_eq!(
        members[1]["$ref"],
        json!(format!("{BASE}/Users/{b}")),
        "members get their $ref"
    );
    let user = client
        .call(Method::Get, &format!("/Users/{b}"), "", None, None)
        .await
        .json();
    ensure_eq!(
        user["groups"][0]["value"],
        json!(g),
        "the member's derived groups"
    );
    ensure_eq!(
        user["groups"][0]["display"],
        json!("Team"),
        "groups.display"
    );
    ensure_eq!(
        etag(&client.patch(&path, "", add_b.clone(), None).await).as_deref(),
        Some(r#"W/"2""#),
        "adding a member again is a no-op"
    );
    let res = client
        .patch(
            &path,
            "",
            json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]),
            None,
        )
        .await;
    ensure_eq!(
        (res.status, etag(&res)),
        (204, Some(r#"W/"2""#.to_owned())),
        "removing a non-member"
    );

    // If-Match compares weakly on both paths.
    let remove_b = json!([{"op": "remove", "path": format!("members[value eq \"{b}\"]")}]);
    let res = client
        .patch(&path, "", remove_b.clone(), Some(r#""2""#))
        .await;
    ensure_eq!(
        (res.status, etag(&res)),
        (204, Some(r#"W/"3""#.to_owned())),
        "members PATCH with If-Match \"2\""
    );
    let rename = json!([{"op": "replace", "path": "displayName", "value": "Crew"}]);
    let res = client
        .patch(&path, "", rename.clone(), Some(r#""3""#))
        .await;
    ensure_eq!(
        (res.status, etag(&res)),
        (200, Some(r#"W/"4""#.to_owned())),
        "displayName PATCH with If-Match \"3\""
    );
    for (ops, what) in [(add_b.clone(), "members"), (rename.clone(), "displayName")] {
        for stale in [r#"W/"1""#, r#""abc""#] {
            let res = client.patch(&path, "", ops.clone(), Some(stale)).await;
            ensure_eq!(res.status, 412, "{what} PATCH with If-Match {stale}");
        }
    }
    let res = client
        .patch(&path, "", add_b.clone(), Some(r#"W/"1", W/"4""#))
        .await;
    ensure_eq!(
        (res.status, etag(&res)),
        (204, Some(r#"W/"5""#.to_owned())),
        "If-Match with a list"
    );
    let res = client
        .patch("/Groups/no-such-group", "", add_b.clone(), Some(r#"W/"1""#))
        .await;
    ensure_eq!(res.status, 404, "If-Match on an unknown group");
    let res = client
        .patch("/Groups/no-such-group", "", add_b.clone(), None)
        .await;
    ensure_eq!(res.status, 404, "a members PATCH of an unknown group");
    let res = client
        .patch(&path, "attributes=members", remove_b.clone(), None)
        .await;
    ensure_eq!(res.status, 200, "members PATCH asking for attributes");
    ensure_eq!(
        res.json()["members"].as_array().map(Vec::len),
        Some(1),
        "the resource in the answer"
    );
    ensure_eq!(etag(&res).as_deref(), Some(r#"W/"6""#), "its ETag");

    let res = client
        .call(Method::Delete, &format!("/Users/{a}"), "", None, None)
        .await;
    ensure_eq!(res.status, 204, "delete a member");
    let got = client.call(Method::Get, &path, "", None, None).await;
    ensure!(
        got.json().get("members").is_none(),
        "the deleted user left the group: {}",
        got.json()
    );
    ensure_eq!(
        etag(&got).as_deref(),
        Some(r#"W/"7""#),
        "the cascade bumps the group's version"
    );
    Ok(None)
}
