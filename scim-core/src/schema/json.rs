//! JSON representations of schemas and resource types, as served at `/Schemas` and
//! `/ResourceTypes` (RFC 7643 §6, §7, §8.7; RFC 7644 §4).

use super::{
    AttributeDef, AttributeType, RESOURCE_TYPE_SCHEMA, ResourceTypeView, SCHEMA_SCHEMA, Schema,
};
use serde_json::{Map, Value, json};

/// The RFC 7643 §7 spelling of an attribute type, e.g. `dateTime`.
pub fn attribute_type_name(attr_type: AttributeType) -> &'static str {
    match attr_type {
        AttributeType::String => "string",
        AttributeType::Boolean => "boolean",
        AttributeType::Decimal => "decimal",
        AttributeType::Integer => "integer",
        AttributeType::DateTime => "dateTime",
        AttributeType::Binary => "binary",
        AttributeType::Reference => "reference",
        AttributeType::Complex => "complex",
    }
}

fn meta(resource_type: &str, base_url: &str, endpoint: &str, id: &str) -> Value {
    json!({
        "resourceType": resource_type,
        "location": format!("{}/{endpoint}/{id}", base_url.trim_end_matches('/')),
    })
}

impl AttributeDef {
    /// The attribute definition as in RFC 7643 §7 (`attributes` / `subAttributes` entries):
    /// every characteristic is written out; `canonicalValues` only when there are some,
    /// `referenceTypes` only for references, `subAttributes` only for complex attributes.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("name".into(), Value::String(self.name.clone()));
        obj.insert(
            "type".into(),
            Value::String(attribute_type_name(self.attr_type).into()),
        );
        obj.insert("multiValued".into(), Value::Bool(self.multi_valued));
        obj.insert(
            "description".into(),
            Value::String(self.description.clone()),
        );
        obj.insert("required".into(), Value::Bool(self.required));
        if !self.canonical_values.is_empty() {
            obj.insert(
                "canonicalValues".into(),
                Value::Array(
                    self.canonical_values
                        .iter()
                        .map(|v| Value::String(v.clone()))
                        .collect(),
                ),
            );
        }
        obj.insert("caseExact".into(), Value::Bool(self.case_exact));
        obj.insert(
            "mutability".into(),
            Value::String(self.mutability.as_str().into()),
        );
        obj.insert(
            "returned".into(),
            Value::String(self.returned.as_str().into()),
        );
        obj.insert(
            "uniqueness".into(),
            Value::String(self.uniqueness.as_str().into()),
        );
        if self.attr_type == AttributeType::Reference {
            obj.insert(
                "referenceTypes".into(),
                Value::Array(
                    self.reference_types
                        .iter()
                        .map(|v| Value::String(v.clone()))
                        .collect(),
                ),
            );
        }
        if self.attr_type == AttributeType::Complex {
            obj.insert(
                "subAttributes".into(),
                Value::Array(
                    self.sub_attributes
                        .iter()
                        .map(AttributeDef::to_json)
                        .collect(),
                ),
            );
        }
        Value::Object(obj)
    }
}

impl Schema {
    /// The schema resource (RFC 7643 §7, §8.7) with a relative `meta.location`
    /// (`/Schemas/<id>`).
    pub fn to_json(&self) -> Value {
        self.to_json_at("")
    }

    /// The schema resource (RFC 7643 §7, §8.7) with `meta.location` under `base_url`,
    /// e.g. `https://example.com/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User`.
    pub fn to_json_at(&self, base_url: &str) -> Value {
        json!({
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": self.attributes.iter().map(AttributeDef::to_json).collect::<Vec<_>>(),
            "meta": meta("Schema", base_url, "Schemas", &self.id),
        })
    }
}

impl ResourceTypeView {
    /// The resource type resource (RFC 7643 §6, §8.6) with a relative `meta.location`
    /// (`/ResourceTypes/<id>`).
    pub fn to_json(&self) -> Value {
        self.to_json_at("")
    }

    /// The resource type resource (RFC 7643 §6, §8.6) with `meta.location` under
    /// `base_url`.
    pub fn to_json_at(&self, base_url: &str) -> Value {
        let rt = &self.resource_type;
        let mut obj = Map::new();
        obj.insert("schemas".into(), json!([RESOURCE_TYPE_SCHEMA]));
        obj.insert("id".into(), Value::String(rt.id.clone()));
        obj.insert("name".into(), Value::String(rt.name.clone()));
        obj.insert("endpoint".into(), Value::String(rt.endpoint.clone()));
        obj.insert("description".into(), Value::String(rt.description.clone()));
        obj.insert(
            "schema".into(),
            Value::String(self.core_schema().id.clone()),
        );
        let extensions: Vec<Value> = self
            .extensions()
            .map(|(s, required)| json!({"schema": s.id, "required": required}))
            .collect();
        if !extensions.is_empty() {
            obj.insert("schemaExtensions".into(), Value::Array(extensions));
        }
        obj.insert(
            "meta".into(),
            meta("ResourceType", base_url, "ResourceTypes", &rt.id),
        );
        Value::Object(obj)
    }
}
