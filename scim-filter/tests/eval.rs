//! Evaluation tables (RFC 7644 §3.4.2.2) against the RFC 7643 §8.2 full User example
//! (with the §8.3 enterprise extension) and a custom resource with an extension.
//!
//! Each row is a filter as a client writes it and the expected outcome.
#![allow(clippy::unwrap_used)] // tests may unwrap (see clippy.toml)

use std::cell::RefCell;

use scim_filter::{
    AttrFacts, AttrType, AttributeFacts, DefaultFacts, PatchPath, parse_filter, parse_path,
};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[derive(Debug)]
enum Expect {
    T,
    F,
    /// An evaluation error (`invalidFilter`) whose message contains this text.
    Err(&'static str),
}
use Expect::{Err as E, F, T};

type Row = (&'static str, Expect);

fn check_rows(resource: &Value, facts: &dyn AttributeFacts, rows: Vec<Row>) {
    let mut failures = Vec::new();
    for (text, expect) in rows {
        let got = match parse_filter(text) {
            Ok(f) => f.matches(resource, facts),
            Err(e) => {
                failures.push(format!("{text}: does not parse: {e}"));
                continue;
            }
        };
        let ok = match (&expect, &got) {
            (T, Ok(true)) | (F, Ok(false)) => true,
            (E(needle), Err(e)) => e.message.contains(needle) && e.scim_type() == "invalidFilter",
            _ => false,
        };
        if !ok {
            failures.push(format!("{text}: expected {expect:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// Resources

/// RFC 7643 §8.2 full User, with the §8.3 enterprise extension.
fn bjensen() -> Value {
    json!({
      "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
      ],
      "id": "2819c223-7f76-453a-919d-413861904646",
      "externalId": "701984",
      "userName": "bjensen@example.com",
      "name": {
        "formatted": "Ms. Barbara J Jensen, III",
        "familyName": "Jensen",
        "givenName": "Barbara",
        "middleName": "Jane",
        "honorificPrefix": "Ms.",
        "honorificSuffix": "III"
      },
      "displayName": "Babs Jensen",
      "nickName": "Babs",
      "profileUrl": "https://login.example.com/bjensen",
      "emails": [
        { "value": "bjensen@example.com", "type": "work", "primary": true },
        { "value": "babs@jensen.org", "type": "home" }
      ],
      "addresses": [
        {
          "type": "work",
          "streetAddress": "100 Universal City Plaza",
          "locality": "Hollywood",
          "region": "CA",
          "postalCode": "91608",
          "country": "USA",
          "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
          "primary": true
        },
        {
          "type": "home",
          "streetAddress": "456 Hollywood Blvd",
          "locality": "Hollywood",
          "region": "CA",
          "postalCode": "91608",
          "country": "USA",
          "formatted": "456 Hollywood Blvd\nHollywood, CA 91608 USA"
        }
      ],
      "phoneNumbers": [
        { "value": "555-555-5555", "type": "work" },
        { "value": "555-555-4444", "type": "mobile" }
      ],
      "ims": [ { "value": "someaimhandle", "type": "aim" } ],
      "photos": [
        { "value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo" },
        { "value": "https://photos.example.com/profilephoto/72930000000Ccne/T", "type": "thumbnail" }
      ],
      "userType": "Employee",
      "title": "Tour Guide",
      "preferredLanguage": "en-US",
      "locale": "en-US",
      "timezone": "America/Los_Angeles",
      "active": true,
      "password": "t1meMa$heen",
      "groups": [
        {
          "value": "e9e30dba-f08f-4109-8486-d5c6a331660a",
          "$ref": "https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
          "display": "Tour Guides"
        },
        {
          "value": "fc348aa8-3835-40eb-a20b-c726e15c55b5",
          "$ref": "https://example.com/v2/Groups/fc348aa8-3835-40eb-a20b-c726e15c55b5",
          "display": "Employees"
        },
        {
          "value": "71ddacd2-a8e7-49b8-a5db-ae50d0a5bfd7",
          "$ref": "https://example.com/v2/Groups/71ddacd2-a8e7-49b8-a5db-ae50d0a5bfd7",
          "display": "US Employees"
        }
      ],
      "x509Certificates": [
        { "value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx" }
      ],
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
        "manager": {
          "value": "26118915-6090-4610-87e4-49d8ca9f808d",
          "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
          "displayName": "John Smith"
        }
      },
      "meta": {
        "resourceType": "User",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34Z",
        "version": "W/\"a330bc54f0671c9\"",
        "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
      }
    })
}

/// A custom resource type with a custom extension, typed by [`SchemaFacts`].
fn device() -> Value {
    json!({
      "schemas": ["urn:example:scim:schemas:Device", "urn:example:scim:ext:Rack"],
      "id": "d-1",
      "serial": "AbC-123",
      "site": "Zürich",
      "owner": "ÅNGSTRÖM Labs",
      "weight": 1.5,
      "count": 3,
      "big": 18446744073709551615u64,
      "neg": -5,
      "enabled": false,
      "firmware": null,
      "tags": [],
      "notes": "",
      "extra": {},
      "blank": [ { "value": null }, { "value": "" } ],
      "image": "aGVsbG8=",
      "installed": "2024-03-01T12:00:00+01:00",
      "seen": "2024-03-01T11:00:00",
      "ports": [ { "number": 80, "open": true }, { "number": 443, "open": false } ],
      "labels": ["Blue", "Green"],
      "urn:example:scim:ext:Rack": { "rack": 7, "row": "B" }
    })
}

/// One `facts(uri, name, sub_attr)` call.
type Question = (Option<String>, String, Option<String>);

/// Schema-aware facts for both resources; records every question it is asked.
#[derive(Default)]
struct SchemaFacts {
    asked: RefCell<Vec<Question>>,
}

fn facts(attr_type: AttrType, case_exact: bool, multi: bool) -> AttrFacts {
    AttrFacts {
        attr_type: Some(attr_type),
        case_exact,
        multi_valued: Some(multi),
    }
}

impl AttributeFacts for SchemaFacts {
    fn facts(&self, uri: Option<&str>, name: &str, sub_attr: Option<&str>) -> AttrFacts {
        self.asked.borrow_mut().push((
            uri.map(str::to_owned),
            name.to_owned(),
            sub_attr.map(str::to_owned),
        ));
        let key = match sub_attr {
            Some(sub) => format!("{name}.{sub}"),
            None => name.to_owned(),
        }
        .to_ascii_lowercase();
        use AttrType::*;
        match key.as_str() {
            "id" | "externalid" | "serial" => facts(String, true, false),
            "username" | "site" | "owner" => facts(String, false, false),
            "active" | "enabled" | "ports.open" | "emails.primary" => facts(Boolean, false, false),
            "emails" | "x509certificates" | "ports" => facts(Complex, false, true),
            "emails.value" => facts(String, false, false),
            "x509certificates.value" | "image" => facts(Binary, true, false),
            "meta.created" | "meta.lastmodified" | "installed" | "seen" => {
                facts(DateTime, false, false)
            }
            "weight" => facts(Decimal, false, false),
            "count" | "big" | "neg" | "ports.number" | "rack" => facts(Integer, false, false),
            _ => AttrFacts::UNKNOWN,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tables

#[test]
fn user_strings_names_and_paths() {
    check_rows(
        &bjensen(),
        &DefaultFacts,
        vec![
            (r#"userName eq "bjensen@example.com""#, T),
            (r#"USERNAME eq "BJENSEN@EXAMPLE.COM""#, T),
            (r#"userName eq "bjensen""#, F),
            (r#"userName ne "bjensen""#, T),
            (r#"userName ne "BJensen@Example.com""#, F),
            (r#"userName co "JENSEN""#, T),
            (r#"userName sw "BJ""#, T),
            (r#"userName ew "EXAMPLE.com""#, T),
            (r#"userName sw "jensen""#, F),
            (r#"userName ew "bjensen""#, F),
            (r#"userName co """#, T),
            (r#"userName co "bjensen@example.com.au""#, F),
            (r#"userName gt "bjensen""#, T),
            (r#"userName lt "C""#, T),
            (r#"userName lt "BA""#, F),
            (r#"title ge "tour guide""#, T),
            (r#"title le "TOUR GUIDE""#, T),
            (r#"title gt "TOUR GUIDE""#, F),
            (r#"userName eq 5"#, F),
            (r#"userName ne 5"#, F),
            (r#"externalId eq 701984"#, F),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com""#,
                T,
            ),
            (
                r#"URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:USERNAME eq "bjensen@example.com""#,
                T,
            ),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:Group:displayName eq "Babs Jensen""#,
                F,
            ),
            (
                r#"urn:ietf:params:scim:schemas:core:2.0:User:name.familyName co "ens""#,
                T,
            ),
            (r#"name.familyName eq "jensen""#, T),
            (r#"NAME.GIVENNAME eq "barbara""#, T),
            (r#"name.givenName sw "Bar""#, T),
            (r#"name.familyName eq "Smith""#, F),
            (r#"name eq "Jensen""#, F),
            (r#"name.nosuch eq "Jensen""#, F),
            (r#"meta.resourceType eq "user""#, T),
            (r#"meta.version eq "W/\"a330bc54f0671c9\"""#, T),
            (r#"groups.$ref co "/v2/Groups/""#, T),
            (r#"profileUrl sw "https://login.""#, T),
            (r#"x509Certificates.value sw "MIIDQ""#, T),
            // `emails` without a sub-attribute compares each element's `value`.
            (r#"emails co "example.com""#, T),
            (r#"emails co "JENSEN.ORG""#, T),
            (r#"emails eq "bjensen@example.com""#, T),
            (r#"emails co "nowhere""#, F),
            (r#"emails eq "work""#, F),
            (r#"phoneNumbers sw "555-555-44""#, T),
        ],
    );
}

#[test]
fn user_multi_valued_and_value_paths() {
    check_rows(
        &bjensen(),
        &DefaultFacts,
        vec![
            (r#"emails.value eq "babs@jensen.org""#, T),
            (r#"emails.type eq "HOME""#, T),
            (r#"emails.type eq "other""#, F),
            // `ne` on a multi-valued attribute: no value may be equal.
            (r#"emails.type ne "work""#, F),
            (r#"emails.type ne "other""#, T),
            (r#"emails.value ne 5"#, F),
            (r#"emails[type eq "work"]"#, T),
            (r#"emails[type eq "work" and value co "@example.com"]"#, T),
            // Both conditions must hold on the same element.
            (r#"emails[type eq "home" and value co "@example.com"]"#, F),
            (r#"emails[type eq "work" and value co "jensen.org"]"#, F),
            // Without a valuePath the two conditions may hold on different elements.
            (
                r#"emails.type eq "home" and emails.value co "@example.com""#,
                T,
            ),
            (r#"emails[type eq "other" or type eq "home"]"#, T),
            (r#"emails[not (type eq "work")]"#, T),
            (r#"emails[not (type eq "work") and primary eq true]"#, F),
            (r#"emails[primary eq true]"#, T),
            (r#"emails[primary eq true and type eq "home"]"#, F),
            (r#"emails[primary pr]"#, T),
            (r#"emails[display pr]"#, F),
            (r#"ims[type eq "aim"]"#, T),
            (r#"phoneNumbers[value sw "555-555-4"]"#, T),
            (
                r#"addresses[type eq "work" and locality eq "hollywood" and postalCode eq "91608"]"#,
                T,
            ),
            (r#"addresses[type eq "home" and primary eq true]"#, F),
            (r#"addresses.region eq "ca""#, T),
            (r#"photos[type eq "thumbnail" and value ew "/T"]"#, T),
            (r#"photos[type eq "thumbnail" and value ew "/F"]"#, F),
            (r#"name[givenName eq "Barbara"]"#, T),
            (
                r#"name[givenName eq "Barbara" and familyName eq "Smith"]"#,
                F,
            ),
            (r#"title[value eq "Tour Guide"]"#, T),
            (r#"nosuch[value eq "x"]"#, F),
            (r#"groups.display eq "employees""#, T),
            (r#"groups[display eq "US Employees"]"#, T),
            (
                r#"groups.value eq "fc348aa8-3835-40eb-a20b-c726e15c55b5""#,
                T,
            ),
            (
                r#"schemas eq "urn:ietf:params:scim:schemas:core:2.0:User""#,
                T,
            ),
            (
                r#"schemas eq "urn:ietf:params:scim:schemas:core:2.0:Group""#,
                F,
            ),
            (
                r#"schemas[value eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]"#,
                T,
            ),
            // The Entra ID element test: the same element must pass the filter and the test.
            (
                r#"emails[type eq "work"].value eq "bjensen@example.com""#,
                T,
            ),
            (r#"emails[type eq "work"].value eq "babs@jensen.org""#, F),
            (r#"emails[type eq "home"].value eq "babs@jensen.org""#, T),
            (r#"emails[type eq "home"].value co "@example.com""#, F),
            (r#"emails[type eq "work"].primary eq true"#, T),
            (r#"emails[type eq "home"].primary eq true"#, F),
            (r#"emails[type eq "work"].display pr"#, F),
            (r#"emails[type eq "work"].value pr"#, T),
            (r#"emails[type eq "other"].value pr"#, F),
            (
                r#"emails[type eq "work"].primary gt true"#,
                E("cannot compare booleans"),
            ),
        ],
    );
}

#[test]
fn user_extension_attributes() {
    check_rows(
        &bjensen(),
        &DefaultFacts,
        vec![
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
                T,
            ),
            (
                r#"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:EMPLOYEENUMBER eq "701984""#,
                T,
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName eq "john smith""#,
                T,
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value sw "26118915""#,
                T,
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager co "6090""#,
                T,
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager[displayName co "smith"]"#,
                T,
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter gt "4000""#,
                T,
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr"#,
                T,
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:nosuch pr"#,
                F,
            ),
            // An unqualified name is a core attribute; extension attributes need their URN.
            (r#"employeeNumber eq "701984""#, F),
            // A path that is exactly the extension URN parses as uri `…:2.0`, name `User`.
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr"#,
                T,
            ),
            (r#"urn:example:unknown:1.0:userName pr"#, F),
        ],
    );
}

#[test]
fn user_date_times_booleans_presence_and_logic() {
    check_rows(
        &bjensen(),
        &DefaultFacts,
        vec![
            (r#"meta.created eq "2010-01-23T04:56:22Z""#, T),
            (r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#, T),
            (r#"meta.lastModified ne "2011-05-13T06:42:34+02:00""#, F),
            (r#"meta.lastModified gt "2011-05-13T04:00:00Z""#, T),
            (r#"meta.lastModified gt "2011-05-13T06:00:00+02:00""#, T),
            (r#"meta.lastModified lt "2011-05-13T05:00:00+02:00""#, F),
            (r#"meta.lastModified ge "2011-05-13T04:42:34.000Z""#, T),
            (r#"meta.lastModified le "2011-05-12T23:42:34-05:00""#, T),
            (r#"meta.created lt "2011-01-01T00:00:00Z""#, T),
            (r#"meta.created sw "2010-01""#, T),
            (r#"meta.created gt "2010""#, T),
            (r#"active eq true"#, T),
            (r#"active eq false"#, F),
            (r#"active ne false"#, T),
            (r#"active eq "true""#, F),
            (
                r#"active gt true"#,
                E("`gt` cannot compare booleans; use eq or ne"),
            ),
            (r#"active le false"#, E("`le` cannot compare booleans")),
            (r#"emails.primary lt "x""#, E("cannot compare booleans")),
            (r#"userName gt true"#, E("cannot compare booleans")),
            (r#"nosuch ge false"#, E("cannot compare booleans")),
            (r#"userName co 5"#, E("`co` needs a string value")),
            (r#"userName sw true"#, E("`sw` needs a string value")),
            (r#"title ew null"#, E("`ew` needs a string value")),
            (r#"userName gt null"#, E("cannot compare with null")),
            (r#"title pr"#, T),
            (r#"TITLE pr"#, T),
            (r#"name pr"#, T),
            (r#"emails pr"#, T),
            (r#"emails.display pr"#, F),
            (r#"name.middleName pr"#, T),
            (r#"nosuch pr"#, F),
            (r#"title eq null"#, F),
            (r#"title ne null"#, T),
            (r#"nosuch eq null"#, T),
            (r#"nosuch ne null"#, F),
            (r#"emails.display eq null"#, T),
            (r#"nosuch eq "x""#, F),
            (r#"nosuch ne "x""#, F),
            (r#"not (nosuch eq "x")"#, T),
            (r#"not (userName eq "bjensen@example.com")"#, F),
            (r#"not (not (title pr))"#, T),
            // `and` binds tighter than `or`.
            (r#"userName eq "x" and title pr or active eq true"#, T),
            (r#"userName eq "x" and (title pr or active eq true)"#, F),
            (r#"title pr or userName eq "x" and active eq false"#, T),
            (r#"(title pr or userName eq "x") and active eq false"#, F),
            (
                r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"] and active eq true and title pr or name.familyName sw "J""#,
                T,
            ),
            // Short-circuit: the erroneous right branch is never evaluated…
            (r#"title pr or active gt true"#, T),
            (r#"nosuch pr and active gt true"#, F),
            // …but an evaluated one propagates its error.
            (
                r#"nosuch pr or active gt true"#,
                E("cannot compare booleans"),
            ),
            (r#"not (active lt true)"#, E("cannot compare booleans")),
        ],
    );
}

#[test]
fn user_with_schema_facts() {
    check_rows(
        &bjensen(),
        &SchemaFacts::default(),
        vec![
            (r#"userName eq "BJensen@Example.com""#, T),
            (r#"id eq "2819c223-7f76-453a-919d-413861904646""#, T),
            (r#"id eq "2819C223-7F76-453A-919D-413861904646""#, F),
            (r#"ID sw "2819c223""#, T),
            (r#"id sw "2819C223""#, F),
            (r#"emails eq "BJENSEN@example.com""#, T),
            (r#"active gt "x""#, E("`gt` cannot compare booleans")),
            (r#"active co "t""#, E("`co` cannot compare booleans")),
            (r#"emails[primary gt false]"#, E("booleans")),
            (
                r#"x509Certificates.value gt "M""#,
                E("`gt` cannot compare binary values; use eq or ne"),
            ),
            (r#"x509Certificates lt "M""#, E("binary")),
            (
                r#"x509Certificates.value eq "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx""#,
                T,
            ),
            (
                r#"x509Certificates.value eq "miidqzccaqygawibagiceaawdqyjkozihvcnaqefbqawtjelmakga1uebhmcvvmx""#,
                F,
            ),
            (r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#, T),
            (r#"meta.created ge "2010-01-23T04:56:22""#, T),
        ],
    );
}

#[test]
fn device_types_and_extension() {
    check_rows(
        &device(),
        &SchemaFacts::default(),
        vec![
            // caseExact through AttributeFacts
            (r#"serial eq "AbC-123""#, T),
            (r#"SERIAL eq "AbC-123""#, T),
            (r#"serial eq "abc-123""#, F),
            (r#"serial ne "abc-123""#, T),
            (r#"serial co "bC""#, T),
            (r#"serial co "BC""#, F),
            (r#"serial sw "ab""#, F),
            (r#"serial ew "C-123""#, T),
            (r#"serial gt "AbC""#, T),
            (r#"serial lt "a""#, T),
            // Unicode case-insensitivity
            (r#"site eq "zürich""#, T),
            (r#"site eq "ZÜRICH""#, T),
            (r#"site eq "zurich""#, F),
            (r#"site gt "ZURICH""#, T),
            (r#"owner co "ström""#, T),
            (r#"owner sw "ångström""#, T),
            (r#"owner ew "LABS""#, T),
            // numbers
            (r#"weight eq 1.5"#, T),
            (r#"weight gt 1"#, T),
            (r#"weight lt 1.5"#, F),
            (r#"count eq 3.0"#, T),
            (r#"count ge 3"#, T),
            (r#"count gt 2.5"#, T),
            (r#"count ne 3"#, F),
            (r#"count eq "3""#, F),
            (r#"count co "3""#, F),
            (r#"big eq 18446744073709551615"#, T),
            (r#"big gt -1"#, T),
            (r#"neg lt 0"#, T),
            (r#"neg lt 18446744073709551615"#, T),
            (r#"neg gt -5.5"#, T),
            // booleans
            (r#"enabled eq false"#, T),
            (r#"enabled ne true"#, T),
            (r#"enabled lt true"#, E("cannot compare booleans")),
            (r#"enabled co "f""#, E("cannot compare booleans")),
            // binary: case-exact, eq/ne only
            (r#"image eq "aGVsbG8=""#, T),
            (r#"image eq "AGVSBG8=""#, F),
            (r#"image ne "AGVSBG8=""#, T),
            (r#"image gt "a""#, E("cannot compare binary values")),
            (r#"image sw "aG""#, E("`sw` cannot compare binary values")),
            // declared dateTime, with and without an offset
            (r#"installed eq "2024-03-01T11:00:00Z""#, T),
            (r#"installed gt "2024-03-01T11:30:00Z""#, F),
            (r#"installed lt "2024-03-01T12:00:00Z""#, T),
            (r#"seen eq "2024-03-01T11:00:00Z""#, T),
            (r#"seen eq "2024-03-01T12:00:00+01:00""#, T),
            (r#"seen lt "2024-03-01T11:00:01""#, T),
            // pr and null
            (r#"firmware pr"#, F),
            (r#"firmware eq null"#, T),
            (r#"firmware ne null"#, F),
            (r#"tags pr"#, F),
            (r#"tags eq null"#, T),
            (r#"notes pr"#, F),
            (r#"notes eq null"#, F),
            (r#"notes eq """#, T),
            (r#"extra pr"#, F),
            (r#"extra eq null"#, F),
            (r#"blank pr"#, F),
            (r#"blank.value pr"#, F),
            (r#"blank.value eq null"#, F),
            (r#"enabled pr"#, T),
            (r#"neg pr"#, T),
            // multi-valued complex with numbers and booleans
            (r#"ports[number eq 443 and open eq true]"#, F),
            (r#"ports[number eq 443 and open eq false]"#, T),
            (r#"ports.number gt 100"#, T),
            (r#"ports.number lt 80"#, F),
            (r#"ports.open eq true"#, T),
            (r#"ports[open le true]"#, E("booleans")),
            // multi-valued simple values
            (r#"labels eq "blue""#, T),
            (r#"labels co "ree""#, T),
            (r#"labels[value eq "GREEN"]"#, T),
            (r#"labels[value eq "red"]"#, F),
            // the custom extension
            (r#"urn:example:scim:ext:Rack:rack eq 7"#, T),
            (r#"urn:example:scim:ext:Rack:rack gt 7.5"#, F),
            (r#"urn:example:scim:ext:rack:ROW eq "b""#, T),
            (r#"rack eq 7"#, F),
            (r#"urn:example:scim:schemas:Device:serial pr"#, T),
            (r#"urn:ietf:params:scim:schemas:core:2.0:User:serial pr"#, F),
        ],
    );
}

// ---------------------------------------------------------------------------------------
// Facts questions and helpers

#[test]
fn value_path_asks_facts_about_sub_attributes_of_the_outer_attribute() {
    let facts = SchemaFacts::default();
    let f = parse_filter(r#"emails[type eq "work" and value co "@example.com"]"#).unwrap();
    assert!(f.matches(&bjensen(), &facts).unwrap());
    let asked = facts.asked.borrow();
    assert!(
        asked.contains(&(None, "emails".into(), Some("type".into()))),
        "{asked:?}"
    );
    assert!(
        asked.contains(&(None, "emails".into(), Some("value".into()))),
        "{asked:?}"
    );

    let facts = SchemaFacts::default();
    let f = parse_filter(&format!(
        r#"{ENTERPRISE}:manager[displayName eq "John Smith"]"#
    ))
    .unwrap();
    assert!(f.matches(&bjensen(), &facts).unwrap());
    assert_eq!(
        facts.asked.borrow().as_slice(),
        [(
            Some(ENTERPRISE.into()),
            "manager".into(),
            Some("displayName".into())
        )]
    );
}

#[test]
fn a_compare_asks_facts_with_the_written_path() {
    let facts = SchemaFacts::default();
    let f = parse_filter(&format!(r#"{ENTERPRISE}:manager.value eq "x""#)).unwrap();
    assert!(!f.matches(&bjensen(), &facts).unwrap());
    assert_eq!(
        facts.asked.borrow().as_slice(),
        [(
            Some(ENTERPRISE.into()),
            "manager".into(),
            Some("value".into())
        )]
    );
}

#[test]
fn eval_errors_are_invalid_filter() {
    let err = parse_filter("active gt true")
        .unwrap()
        .matches(&bjensen(), &DefaultFacts)
        .unwrap_err();
    assert_eq!(err.scim_type(), "invalidFilter");
    assert_eq!(
        err.to_string(),
        "`gt` cannot compare booleans; use eq or ne"
    );
}

#[test]
fn non_object_resources_match_nothing_but_eq_null() {
    for resource in [json!(null), json!("x"), json!([1, 2])] {
        assert!(
            !parse_filter("userName pr")
                .unwrap()
                .matches(&resource, &DefaultFacts)
                .unwrap()
        );
        assert!(
            parse_filter("userName eq null")
                .unwrap()
                .matches(&resource, &DefaultFacts)
                .unwrap()
        );
        assert!(
            !parse_filter("emails[value pr]")
                .unwrap()
                .matches(&resource, &DefaultFacts)
                .unwrap()
        );
    }
}

#[test]
fn attr_path_values_resolves_like_the_evaluator() {
    let user = bjensen();
    let values = |p: &str| match parse_path(p).unwrap() {
        PatchPath::Attr(path) => path.values(&user),
        other => panic!("{other:?}"),
    };
    assert_eq!(values("USERNAME"), [&json!("bjensen@example.com")]);
    assert_eq!(values("emails.type"), [&json!("work"), &json!("home")]);
    assert_eq!(
        values(&format!("{ENTERPRISE}:manager.displayName")),
        [&json!("John Smith")]
    );
    assert_eq!(values("schemas").len(), 2);
    assert!(values("nosuch").is_empty());
    assert!(values("emails.display").is_empty());
    assert!(values("name.middleName").len() == 1);
}

// ---------------------------------------------------------------------------------------
// Properties

mod properties {
    use super::*;
    use proptest::prelude::*;
    use scim_filter::{AttrPath, CompValue, CompareOp, Filter};

    fn attr_path() -> impl Strategy<Value = AttrPath> {
        let names = prop::sample::select(vec![
            "userName",
            "USERNAME",
            "title",
            "active",
            "emails",
            "name",
            "meta",
            "schemas",
            "groups",
            "nosuch",
            "value",
            "type",
            "primary",
            "addresses",
            "x509Certificates",
        ]);
        let subs = prop::option::of(prop::sample::select(vec![
            "value",
            "type",
            "primary",
            "givenName",
            "created",
            "lastModified",
            "display",
        ]));
        let uris = prop::option::of(prop::sample::select(vec![
            "urn:ietf:params:scim:schemas:core:2.0:User",
            ENTERPRISE,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0",
        ]));
        (names, subs, uris).prop_map(|(name, sub, uri)| {
            let mut p = AttrPath::new(name);
            if let Some(sub) = sub {
                p = p.with_sub_attr(sub);
            }
            if let Some(uri) = uri {
                p = p.with_uri(uri);
            }
            p
        })
    }

    fn comp_value() -> impl Strategy<Value = CompValue> {
        prop_oneof![
            Just(CompValue::Null),
            any::<bool>().prop_map(CompValue::Bool),
            any::<i64>().prop_map(|n| CompValue::Number(n.into())),
            (-1e6f64..1e6)
                .prop_map(|f| CompValue::Number(serde_json::Number::from_f64(f).unwrap())),
            prop::sample::select(vec![
                "",
                "work",
                "bjensen@example.com",
                "BJENSEN",
                "2011-05-13T04:42:34Z",
                "2011-05-13T06:42:34+02:00",
                "Zürich",
                "true",
            ])
            .prop_map(|s| CompValue::String(s.to_owned())),
        ]
    }

    fn op() -> impl Strategy<Value = CompareOp> {
        use CompareOp::*;
        prop::sample::select(vec![Eq, Ne, Co, Sw, Ew, Gt, Ge, Lt, Le])
    }

    fn filter() -> impl Strategy<Value = Filter> {
        let leaf = prop_oneof![
            attr_path().prop_map(Filter::Present),
            (attr_path(), op(), comp_value()).prop_map(|(path, op, value)| Filter::Compare {
                path,
                op,
                value
            }),
        ];
        leaf.prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
                (attr_path(), inner).prop_map(|(mut path, f)| {
                    path.sub_attr = None;
                    Filter::ValuePath {
                        path,
                        filter: Box::new(f),
                    }
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn logic_agrees_with_bool(a in filter(), b in filter()) {
            let user = bjensen();
            let facts = SchemaFacts::default();
            let ra = a.matches(&user, &facts);
            let rb = b.matches(&user, &facts);
            let not_a = Filter::Not(Box::new(a.clone())).matches(&user, &facts);
            prop_assert_eq!(not_a, ra.clone().map(|x| !x));
            let and = Filter::And(Box::new(a.clone()), Box::new(b.clone())).matches(&user, &facts);
            let or = Filter::Or(Box::new(a), Box::new(b)).matches(&user, &facts);
            match (ra, rb) {
                (Ok(x), Ok(y)) => {
                    prop_assert_eq!(and, Ok(x && y));
                    prop_assert_eq!(or, Ok(x || y));
                }
                (Err(e), _) => {
                    prop_assert_eq!(and, Err(e.clone()));
                    prop_assert_eq!(or, Err(e));
                }
                (Ok(false), Err(_)) => prop_assert_eq!(and, Ok(false)),
                (Ok(true), Err(_)) => prop_assert_eq!(or, Ok(true)),
            }
        }
    }
}
