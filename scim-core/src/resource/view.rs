//! Typed read-only views of User and Group resources (RFC 7643 §4.1, §4.2), for host code.

use serde_json::{Map, Value};

fn str_of<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// One element of a multi-valued attribute such as `emails` (RFC 7643 §2.4, §4.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultiValueView<'a> {
    /// `value`.
    pub value: Option<&'a str>,
    /// `display`.
    pub display: Option<&'a str>,
    /// `type`, e.g. `work`.
    pub type_: Option<&'a str>,
    /// `primary` (false when absent).
    pub primary: bool,
}

impl<'a> MultiValueView<'a> {
    fn from_value(v: &'a Value) -> Option<Self> {
        let obj = v.as_object()?;
        Some(Self {
            value: str_of(obj, "value"),
            display: str_of(obj, "display"),
            type_: str_of(obj, "type"),
            primary: obj.get("primary").and_then(Value::as_bool) == Some(true),
        })
    }
}

/// The `name` complex attribute of a User (RFC 7643 §4.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NameView<'a> {
    /// `formatted`.
    pub formatted: Option<&'a str>,
    /// `familyName`.
    pub family_name: Option<&'a str>,
    /// `givenName`.
    pub given_name: Option<&'a str>,
    /// `middleName`.
    pub middle_name: Option<&'a str>,
    /// `honorificPrefix`.
    pub honorific_prefix: Option<&'a str>,
    /// `honorificSuffix`.
    pub honorific_suffix: Option<&'a str>,
}

/// A read-only view of a User resource (RFC 7643 §4.1), from
/// [`Resource::as_user`](super::Resource::as_user).
#[derive(Debug, Clone, Copy)]
pub struct UserView<'a> {
    attrs: &'a Map<String, Value>,
}

impl<'a> UserView<'a> {
    pub(crate) fn new(attrs: &'a Map<String, Value>) -> Self {
        Self { attrs }
    }

    /// `id` (RFC 7643 §3.1).
    pub fn id(&self) -> Option<&'a str> {
        str_of(self.attrs, "id")
    }

    /// `externalId` (RFC 7643 §3.1).
    pub fn external_id(&self) -> Option<&'a str> {
        str_of(self.attrs, "externalId")
    }

    /// `userName` (RFC 7643 §4.1.1).
    pub fn user_name(&self) -> Option<&'a str> {
        str_of(self.attrs, "userName")
    }

    /// `displayName` (RFC 7643 §4.1.1).
    pub fn display_name(&self) -> Option<&'a str> {
        str_of(self.attrs, "displayName")
    }

    /// `active` (RFC 7643 §4.1.1); `true` when absent: a provisioned user without an
    /// explicit `active: false` is active.
    pub fn active(&self) -> bool {
        self.attrs
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }

    /// `name` (RFC 7643 §4.1.1), if present.
    pub fn name(&self) -> Option<NameView<'a>> {
        let obj = self.attrs.get("name")?.as_object()?;
        Some(NameView {
            formatted: str_of(obj, "formatted"),
            family_name: str_of(obj, "familyName"),
            given_name: str_of(obj, "givenName"),
            middle_name: str_of(obj, "middleName"),
            honorific_prefix: str_of(obj, "honorificPrefix"),
            honorific_suffix: str_of(obj, "honorificSuffix"),
        })
    }

    /// `emails` (RFC 7643 §4.1.2), in stored order.
    pub fn emails(&self) -> Vec<MultiValueView<'a>> {
        self.multi("emails")
    }

    /// The primary email's value, else the first email's (RFC 7643 §2.4 `primary`).
    pub fn primary_email(&self) -> Option<&'a str> {
        let emails = self.emails();
        emails
            .iter()
            .find(|e| e.primary)
            .or_else(|| emails.first())
            .and_then(|e| e.value)
    }

    /// `groups` (RFC 7643 §4.1.2; read-only, maintained by the service provider).
    pub fn groups(&self) -> Vec<MultiValueView<'a>> {
        self.multi("groups")
    }

    /// Any multi-valued complex attribute by its schema-case name, e.g. `phoneNumbers`.
    pub fn multi(&self, attr: &str) -> Vec<MultiValueView<'a>> {
        self.attrs
            .get(attr)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(MultiValueView::from_value).collect())
            .unwrap_or_default()
    }

    /// Any top-level attribute as JSON (schema-case key).
    pub fn get(&self, attr: &str) -> Option<&'a Value> {
        self.attrs.get(attr)
    }
}

/// One member of a Group (RFC 7643 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemberView<'a> {
    /// `value`: the member's `id`.
    pub value: Option<&'a str>,
    /// `display`.
    pub display: Option<&'a str>,
    /// `type`: `User` or `Group`.
    pub type_: Option<&'a str>,
    /// `$ref`: the member's URI.
    pub reference: Option<&'a str>,
}

/// A read-only view of a Group resource (RFC 7643 §4.2), from
/// [`Resource::as_group`](super::Resource::as_group).
#[derive(Debug, Clone, Copy)]
pub struct GroupView<'a> {
    attrs: &'a Map<String, Value>,
}

impl<'a> GroupView<'a> {
    pub(crate) fn new(attrs: &'a Map<String, Value>) -> Self {
        Self { attrs }
    }

    /// `id` (RFC 7643 §3.1).
    pub fn id(&self) -> Option<&'a str> {
        str_of(self.attrs, "id")
    }

    /// `externalId` (RFC 7643 §3.1).
    pub fn external_id(&self) -> Option<&'a str> {
        str_of(self.attrs, "externalId")
    }

    /// `displayName` (RFC 7643 §4.2).
    pub fn display_name(&self) -> Option<&'a str> {
        str_of(self.attrs, "displayName")
    }

    /// `members` (RFC 7643 §4.2), in stored order.
    pub fn members(&self) -> Vec<MemberView<'a>> {
        self.attrs
            .get("members")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_object)
                    .map(|m| MemberView {
                        value: str_of(m, "value"),
                        display: str_of(m, "display"),
                        type_: str_of(m, "type"),
                        reference: str_of(m, "$ref"),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
