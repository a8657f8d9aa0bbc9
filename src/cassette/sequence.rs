//! Recorded sequences: identical requests answered in recorded order.
//!
//! A lab that creates a job and polls it sends the same request many times
//! and expects `InProgress`, then `Completed`. Interactions whose requests are
//! identical (every matched field equal, JSON bodies compared as values,
//! informative headers ignored) form a **sequence** in load order (file name
//! order, then position in the file). The rule:
//!
//! - the n-th time a server receives that request it answers with the n-th
//!   answer of the sequence, where an interaction with `"times": N` stands for
//!   N consecutive answers (default 1; folded runs of identical answers);
//! - after the last answer, **the last answer repeats** (a poller that asks
//!   once more than recorded sees the final state again, never a miss);
//! - the count lives in the server: every trial gets its own replay server,
//!   so every trial sees each sequence from its start.
//!
//! A group of one interaction with `times` 1 is not a sequence: it is served
//! without any bookkeeping, as before.

use std::collections::HashMap;
use std::hash::Hash;

use super::matching::json_eq;
use super::model::RecordedRequest;

/// Whether two recorded requests are the same request: every field equal
/// (including any a later format adds), bodies compared as JSON values,
/// informative headers ignored.
pub fn same_request(a: &RecordedRequest, b: &RecordedRequest) -> bool {
    let bare = |r: &RecordedRequest| RecordedRequest {
        headers: Default::default(),
        body: None,
        ..r.clone()
    };
    let bodies = match (&a.body, &b.body) {
        (None, None) => true,
        (Some(x), Some(y)) => json_eq(x, y),
        _ => false,
    };
    bodies && bare(a) == bare(b)
}

/// One answer slot of a sequence: a member and how many calls it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member<R> {
    pub at: R,
    pub times: u32,
}

/// A group being built: its first item (what others compare with) and members.
type Group<T, R> = (T, Vec<Member<R>>);

/// The sequences of a list of interactions, keyed by their first member
/// (the one a first-match lookup returns).
#[derive(Debug, Clone)]
pub struct Sequences<R: Eq + Hash> {
    groups: HashMap<R, Vec<Member<R>>>,
}

impl<R: Eq + Hash> Default for Sequences<R> {
    fn default() -> Self {
        Sequences {
            groups: HashMap::new(),
        }
    }
}

impl<R: Copy + Eq + Hash> Sequences<R> {
    /// Groups `items` (in load order) by `key` (a cheap bucket: operation,
    /// model id, …) and then by `same` (the full request comparison) inside a
    /// bucket. Only groups with more than one answer are kept.
    pub fn build<T, K: Eq + Hash>(
        items: impl IntoIterator<Item = (R, T)>,
        key: impl Fn(&T) -> K,
        same: impl Fn(&T, &T) -> bool,
        times: impl Fn(&T) -> u32,
    ) -> Sequences<R> {
        // bucket -> [(leader item, members)]
        let mut buckets: HashMap<K, Vec<Group<T, R>>> = HashMap::new();
        for (at, item) in items {
            let member = Member {
                at,
                times: times(&item).max(1),
            };
            let k = key(&item);
            let bucket = buckets.entry(k).or_default();
            match bucket.iter_mut().find(|(leader, _)| same(leader, &item)) {
                Some((_, members)) => members.push(member),
                None => bucket.push((item, vec![member])),
            }
        }
        let groups = buckets
            .into_values()
            .flatten()
            .filter(|(_, members)| members.len() > 1 || members.iter().any(|m| m.times > 1))
            .filter_map(|(_, members)| members.first().map(|m| m.at).map(|at| (at, members)))
            .collect();
        Sequences { groups }
    }

    /// The members of the sequence led by `leader`, `None` when it is a
    /// single answer.
    pub fn members(&self, leader: R) -> Option<&[Member<R>]> {
        self.groups.get(&leader).map(Vec::as_slice)
    }

    /// Whether any sequence exists (servers skip their bookkeeping otherwise).
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The member answering the `call`-th (0-based) request of the sequence
    /// led by `leader`: `times` expanded, the last answer repeating. `leader`
    /// itself when it leads no sequence.
    pub fn answer(&self, leader: R, call: u64) -> R {
        let Some(members) = self.members(leader) else {
            return leader;
        };
        let mut left = call;
        for m in members {
            if left < u64::from(m.times) {
                return m.at;
            }
            left -= u64::from(m.times);
        }
        members.last().map_or(leader, |m| m.at)
    }
}

/// Per-server progress through sequences: how many times each sequence (by
/// its leader) was answered. Lives as long as one replay server, i.e. one
/// trial.
#[derive(Debug)]
pub struct SequenceState<R> {
    calls: std::sync::Mutex<HashMap<R, u64>>,
}

impl<R> Default for SequenceState<R> {
    fn default() -> Self {
        SequenceState {
            calls: std::sync::Mutex::new(HashMap::new()),
        }
    }
}

impl<R: Copy + Eq + Hash> SequenceState<R> {
    /// The member answering this call of `leader`'s sequence, counting the
    /// call. Single answers skip the lock.
    pub fn next(&self, sequences: &Sequences<R>, leader: R) -> R {
        if sequences.members(leader).is_none() {
            return leader;
        }
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        let n = calls.entry(leader).or_insert(0);
        let call = *n;
        *n = n.saturating_add(1);
        sequences.answer(leader, call)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (id, request text, times)
    fn seqs(items: &[(usize, &str, u32)]) -> Sequences<usize> {
        Sequences::build(
            items.iter().map(|&(id, req, times)| (id, (req, times))),
            |(req, _)| req.len(),
            |(a, _), (b, _)| a == b,
            |(_, t)| *t,
        )
    }

    #[test]
    fn identical_requests_answer_in_order_and_the_last_repeats() {
        let s = seqs(&[(0, "get", 1), (1, "other", 1), (2, "get", 2), (3, "get", 1)]);
        assert_eq!(
            s.members(0).map(<[_]>::len),
            Some(3),
            "three answers for `get`"
        );
        assert_eq!(s.members(1), None, "a single answer is no sequence");
        let answers: Vec<usize> = (0..7).map(|n| s.answer(0, n)).collect();
        assert_eq!(answers, [0, 2, 2, 3, 3, 3, 3]);
    }

    #[test]
    fn a_folded_single_interaction_is_a_sequence_of_itself() {
        let s = seqs(&[(5, "poll", 3)]);
        assert_eq!((0..4).map(|n| s.answer(5, n)).collect::<Vec<_>>(), [5; 4]);
        assert!(!s.is_empty());
    }

    #[test]
    fn state_counts_per_leader_and_a_new_state_starts_over() {
        let s = seqs(&[(0, "a", 1), (1, "a", 1), (2, "b", 1), (3, "b", 1)]);
        let st = SequenceState::default();
        assert_eq!(st.next(&s, 0), 0);
        assert_eq!(st.next(&s, 2), 2);
        assert_eq!(st.next(&s, 0), 1);
        assert_eq!(st.next(&s, 0), 1);
        assert_eq!(st.next(&s, 2), 3);
        let fresh = SequenceState::default();
        assert_eq!(
            fresh.next(&s, 0),
            0,
            "a new trial starts from the first answer"
        );
    }
}
