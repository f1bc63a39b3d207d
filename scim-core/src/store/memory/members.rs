//! Group membership in [`MemoryStore`](super::MemoryStore) (RFC 7643 §4.2): each Group's
//! members in insertion order, and a reverse index member → Groups, so adding or removing
//! one member is `O(log n)` and a member's Groups are one lookup.

use crate::store::Member;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// One Group's members, in insertion order, keyed by `value`.
#[derive(Debug, Default)]
pub(super) struct Members {
    next: u64,
    position: HashMap<String, u64>,
    order: BTreeMap<u64, Member>,
}

impl Members {
    /// From a list; later duplicates of a `value` are dropped.
    pub(super) fn from_list(list: &[Member]) -> Self {
        let mut members = Members::default();
        for member in list {
            members.insert(member);
        }
        members
    }

    pub(super) fn ids(&self) -> impl Iterator<Item = &str> {
        self.position.keys().map(String::as_str)
    }

    /// Adds a member; `false` when it already is one.
    pub(super) fn insert(&mut self, member: &Member) -> bool {
        if self.position.contains_key(&member.value) {
            return false;
        }
        self.position.insert(member.value.clone(), self.next);
        self.order.insert(self.next, member.clone());
        self.next += 1;
        true
    }

    /// Removes a member; `false` when it was none.
    pub(super) fn remove(&mut self, id: &str) -> bool {
        match self.position.remove(id) {
            Some(at) => self.order.remove(&at).is_some(),
            None => false,
        }
    }

    pub(super) fn to_vec(&self) -> Vec<Member> {
        self.order.values().cloned().collect()
    }
}

/// Member id → ids of the Groups (of one resource type) it is a direct member of.
#[derive(Debug, Default)]
pub(super) struct MemberOf {
    groups: HashMap<String, BTreeSet<Arc<str>>>,
}

impl MemberOf {
    pub(super) fn link(&mut self, member: &str, group: &Arc<str>) {
        self.groups
            .entry(member.to_owned())
            .or_default()
            .insert(Arc::clone(group));
    }

    pub(super) fn unlink(&mut self, member: &str, group: &str) {
        if let Some(groups) = self.groups.get_mut(member) {
            groups.remove(group);
            if groups.is_empty() {
                self.groups.remove(member);
            }
        }
    }

    pub(super) fn link_all(&mut self, group: &Arc<str>, members: &Members) {
        for member in members.ids() {
            self.link(member, group);
        }
    }

    pub(super) fn unlink_all(&mut self, group: &str, members: &Members) {
        for member in members.ids() {
            self.unlink(member, group);
        }
    }

    /// The Groups `member` is a member of, in `id` order.
    pub(super) fn of(&self, member: &str) -> impl Iterator<Item = &Arc<str>> {
        self.groups.get(member).into_iter().flatten()
    }

    /// Forgets `member` entirely; answers the Groups it was a member of.
    pub(super) fn take(&mut self, member: &str) -> BTreeSet<Arc<str>> {
        self.groups.remove(member).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_keep_insertion_order_and_dedupe() {
        let mut m = Members::from_list(&[
            Member::new("b"),
            Member::new("a"),
            Member::new("b").with_display("dup"),
        ]);
        assert_eq!(m.to_vec().len(), 2);
        assert!(m.insert(&Member::new("c")));
        assert!(!m.insert(&Member::new("a")));
        assert!(m.remove("b"));
        assert!(!m.remove("b"));
        let ids: Vec<_> = m.to_vec().into_iter().map(|m| m.value).collect();
        assert_eq!(ids, ["a", "c"]);
    }
}
