//! The indexes of [`MemoryStore`](super::MemoryStore): one case-folded unique index per
//! unique attribute (RFC 7643 §2.2; [`unique_attributes`]) and an `externalId` index
//! (RFC 7643 §3.1), both answering `eq` conditions of resolved filters.

use crate::schema::ResourceTypeView;
use crate::store::{StoreError, UniqueAttribute, fold_case, unique_attributes};
use scim_filter::{AttrFacts, AttributeFacts, CompValue, CompareOp, Filter};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The index keys of one resource: one per unique attribute (in [`Indexes`] order) and its
/// `externalId` key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Keys {
    unique: Box<[Option<Box<str>>]>,
    external: Option<Box<str>>,
}

/// One unique index: key → the id that holds it.
type UniqueIndex = HashMap<Box<str>, Arc<str>>;

#[derive(Debug)]
pub(super) struct Indexes {
    unique: Vec<(UniqueAttribute, UniqueIndex)>,
    external_case_exact: bool,
    external: HashMap<Box<str>, Vec<Arc<str>>>,
}

impl Indexes {
    pub(super) fn new(view: &ResourceTypeView) -> Self {
        let external_case_exact = view
            .common_attributes()
            .iter()
            .find(|d| d.name == "externalId")
            .is_none_or(|d| d.case_exact);
        Self {
            unique: unique_attributes(view)
                .into_iter()
                .map(|u| (u, HashMap::new()))
                .collect(),
            external_case_exact,
            external: HashMap::new(),
        }
    }

    fn external_key(&self, value: &str) -> Box<str> {
        if self.external_case_exact {
            Box::from(value)
        } else {
            fold_case(value).into_boxed_str()
        }
    }

    /// The keys of a resource's attributes.
    pub(super) fn keys(&self, attributes: &Map<String, Value>) -> Keys {
        Keys {
            unique: self
                .unique
                .iter()
                .map(|(u, _)| u.key(attributes).map(String::into_boxed_str))
                .collect(),
            external: attributes
                .get("externalId")
                .and_then(Value::as_str)
                .map(|s| self.external_key(s)),
        }
    }

    /// Fails when a unique key of `keys` belongs to another resource than `own_id`.
    pub(super) fn check(
        &self,
        keys: &Keys,
        own_id: &str,
        attributes: &Map<String, Value>,
    ) -> Result<(), StoreError> {
        for ((attribute, index), key) in self.unique.iter().zip(keys.unique.iter()) {
            let Some(key) = key else { continue };
            if index.get(key).is_some_and(|owner| &**owner != own_id) {
                return Err(attribute.taken(attributes));
            }
        }
        Ok(())
    }

    pub(super) fn insert(&mut self, id: &Arc<str>, keys: &Keys) {
        for ((_, index), key) in self.unique.iter_mut().zip(keys.unique.iter()) {
            if let Some(key) = key {
                index.insert(key.clone(), Arc::clone(id));
            }
        }
        if let Some(key) = &keys.external {
            self.external
                .entry(key.clone())
                .or_default()
                .push(Arc::clone(id));
        }
    }

    pub(super) fn remove(&mut self, id: &str, keys: &Keys) {
        for ((_, index), key) in self.unique.iter_mut().zip(keys.unique.iter()) {
            if let Some(key) = key {
                if index.get(key).is_some_and(|owner| &**owner == id) {
                    index.remove(key);
                }
            }
        }
        if let Some(key) = &keys.external {
            if let Some(ids) = self.external.get_mut(key) {
                ids.retain(|i| &**i != id);
                if ids.is_empty() {
                    self.external.remove(key);
                }
            }
        }
    }

    /// The ids an `eq` condition on `externalId` or a unique attribute can match (a
    /// superset of its matches is enough, and this is exact: the keys fold as the evaluator
    /// does); `None` when no index serves the condition.
    pub(super) fn lookup(
        &self,
        condition: &Filter,
        view: &ResourceTypeView,
    ) -> Option<Vec<Arc<str>>> {
        let Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(wanted),
        } = condition
        else {
            return None;
        };
        if path.sub_attr.is_some() {
            return None;
        }
        let facts: AttrFacts = view.facts(path.uri.as_deref(), &path.name, None);
        let stringy = matches!(
            facts.attr_type,
            Some(scim_filter::AttrType::String | scim_filter::AttrType::Reference)
        );
        if !stringy {
            return None;
        }
        if path.uri.is_none() && path.name == "externalId" {
            if facts.case_exact != self.external_case_exact {
                return None;
            }
            return Some(
                self.external
                    .get(&*self.external_key(wanted))
                    .cloned()
                    .unwrap_or_default(),
            );
        }
        let (attribute, index) = self.unique.iter().find(|(u, _)| {
            u.uri == path.uri && u.name == path.name && u.case_exact == facts.case_exact
        })?;
        let key = attribute.key_of_str(wanted);
        Some(index.get(key.as_str()).cloned().into_iter().collect())
    }
}
