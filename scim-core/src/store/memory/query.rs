//! Queries in [`MemoryStore`](super::MemoryStore) (RFC 7644 §3.4.2): candidates from an
//! index when a condition of the filter's top-level `and` chain is an indexed `eq`, else
//! every resource; then [`Query::answer`]'s filtering, ordering and paging. Without filter
//! and sort, pages are read straight off the ordered `id` set.

use super::{Entry, TypeData};
use crate::store::query::select;
use crate::store::{Page, Query, QueryPage, StoreError, StoredResource};
use scim_filter::{CompValue, CompareOp, Filter};
use std::ops::Bound;
use std::sync::Arc;

impl TypeData {
    pub(super) fn query(&self, query: &Query<'_>) -> Result<QueryPage, StoreError> {
        if query.filter.is_none() && query.sort.is_none() {
            return self.unfiltered(query);
        }
        let members = query.members || query.filter.is_some_and(|f| f.mentions("members"));
        let mut exact = false;
        let mut candidates: Option<Vec<Arc<str>>> = None;
        if let Some(filter) = query.filter {
            let conjuncts = filter.conjuncts();
            for condition in &conjuncts {
                if let Some(ids) = self.lookup(condition, query) {
                    exact = conjuncts.len() == 1;
                    candidates = Some(ids);
                    break;
                }
            }
        }
        let records = match candidates {
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.entries.get_key_value(id.as_ref()))
                .map(|(id, e)| self.record(id, e, members))
                .collect::<Result<Vec<_>, _>>()?,
            None => self
                .order
                .iter()
                .filter_map(|id| self.entries.get_key_value(id.as_ref()))
                .map(|(id, e)| self.record(id, e, members))
                .collect::<Result<Vec<_>, _>>()?,
        };
        // An index that serves the whole filter gives exactly its matches; unsorted, they
        // only need ordering by `id` and cutting.
        if exact && query.sort.is_none() {
            if let Page::Offset { offset, limit } = query.page {
                let mut records = records;
                records.sort_by(|a, b| a.id().cmp(b.id()));
                let total = records.len();
                let page: Vec<StoredResource> =
                    records.into_iter().skip(offset).take(limit).collect();
                return Ok(QueryPage::new(page, total).keeping_members(query.members));
            }
        }
        let filter = if exact { None } else { query.filter };
        let page = select(query.view, records, filter, query.sort, query.page, |r| {
            r.filter_json(query.view)
        })?;
        Ok(page.keeping_members(query.members))
    }

    /// The ids an indexed condition can match: `id eq`, `externalId eq`, `eq` on a unique
    /// attribute, and, for Groups, `members.value eq`.
    fn lookup(&self, condition: &Filter, query: &Query<'_>) -> Option<Vec<Arc<str>>> {
        if let Filter::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(wanted),
        } = condition
        {
            if path.uri.is_none() && path.name == "id" && path.sub_attr.is_none() {
                let found = self.entries.get_key_value(wanted.as_str());
                return Some(found.map(|(id, _)| Arc::clone(id)).into_iter().collect());
            }
            let member_value = self.groups
                && path.uri.is_none()
                && path.name == "members"
                && path.sub_attr.as_deref() == Some("value");
            let value_def = query
                .view
                .core_schema()
                .attribute("members")
                .and_then(|m| m.sub_attribute("value"));
            if member_value && value_def.is_some_and(|d| d.case_exact) {
                return Some(self.member_of.of(wanted).cloned().collect());
            }
        }
        self.indexes.lookup(condition, query.view)
    }

    /// No filter, no sort: the page straight off the ordered ids.
    fn unfiltered(&self, query: &Query<'_>) -> Result<QueryPage, StoreError> {
        let total = self.entries.len();
        let records = |ids: &mut dyn Iterator<Item = &Arc<str>>, n: usize| {
            ids.take(n)
                .filter_map(|id| self.entries.get_key_value(id.as_ref()))
                .map(|(id, e): (&Arc<str>, &Entry)| self.record(id, e, query.members))
                .collect::<Result<Vec<StoredResource>, StoreError>>()
        };
        let resources = match query.page {
            Page::All => records(&mut self.order.iter(), total)?,
            Page::Offset { offset, limit } => records(&mut self.order.iter().skip(offset), limit)?,
            Page::After { position, limit } => {
                let after: Bound<&str> = Bound::Excluded(position.id.as_str());
                let mut ids = self.order.range::<str, _>((after, Bound::Unbounded));
                records(&mut ids, limit)?
            }
        };
        Ok(QueryPage::new(resources, total))
    }
}
