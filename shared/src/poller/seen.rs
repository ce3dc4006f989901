//! The ids a later query can return again, so that re-read events are not sent twice. Pure.
//!
//! A completed window `[from, to]` keeps the ids at or after `to - overlap` (the next query
//! starts there). A window left part-way also keeps the ids of its own overlap region
//! (`from ..= from + overlap`, still ahead when resuming an API that pages newest first) and
//! those of the last page read (an offset-paged API shifts by the records that arrived since).

use std::collections::{HashMap, HashSet};

use super::api::Window;
use super::checkpoint::SeenId;

/// Ids delivered, with their record times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenIds {
    ids: HashMap<String, i64>,
}

impl SeenIds {
    /// The ids kept in a checkpoint.
    pub fn from_checkpoint(seen: &[SeenId]) -> Self {
        Self { ids: seen.iter().map(|s| (s.id.clone(), s.t)).collect() }
    }

    /// Whether `id` was delivered.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains_key(id)
    }

    /// Records `id` as delivered.
    pub fn insert(&mut self, id: String, time_ms: i64) {
        self.ids.insert(id, time_ms);
    }

    /// How many ids are held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The ids to keep in the checkpoint after `window`, sorted by time then id.
    pub fn retained(
        &self,
        window: Window,
        overlap_ms: i64,
        complete: bool,
        last_page: &HashSet<String>,
    ) -> Vec<SeenId> {
        let head = window.to_ms.saturating_sub(overlap_ms);
        let tail = window.from_ms.saturating_add(overlap_ms);
        let mut kept: Vec<SeenId> = self
            .ids
            .iter()
            .filter(|(id, t)| **t >= head || (!complete && (**t <= tail || last_page.contains(id.as_str()))))
            .map(|(id, t)| SeenId { id: id.clone(), t: *t })
            .collect();
        kept.sort_by(|a, b| a.t.cmp(&b.t).then_with(|| a.id.cmp(&b.id)));
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_ids_a_later_query_can_return() {
        let window = Window { from_ms: 1_000, to_ms: 10_000 };
        let overlap = 500;
        let mut seen = SeenIds::default();
        for (id, t) in [
            ("old", 900),
            ("tail", 1_400),
            ("middle", 5_000),
            ("paged", 6_000),
            ("head", 9_600),
            ("late", 12_000),
        ] {
            seen.insert(id.to_string(), t);
        }
        let last_page: HashSet<String> = ["paged".to_string()].into();
        let ids = |kept: Vec<SeenId>| kept.into_iter().map(|s| s.id).collect::<Vec<_>>();
        // (complete, expected ids)
        let cases: [(bool, &[&str]); 2] =
            [(true, &["head", "late"]), (false, &["old", "tail", "paged", "head", "late"])];
        for (complete, expected) in cases {
            assert_eq!(
                ids(seen.retained(window, overlap, complete, &last_page)),
                expected,
                "complete {complete}"
            );
        }
        let restored = SeenIds::from_checkpoint(&seen.retained(window, overlap, true, &last_page));
        assert!(restored.contains("head") && !restored.contains("middle"));
        assert_eq!(restored.len(), 2);
    }
}
