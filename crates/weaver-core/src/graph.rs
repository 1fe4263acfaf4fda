//! The link graph between notes: adjacency lists over dense note ids.
//!
//! Built from resolved links in one pass; immutable afterwards. Queries are breadth-first walks
//! over `u32` ids with no allocation per visited edge beyond the frontier, so backlinks are a slice
//! lookup and a 2-hop neighbourhood of a 50k-note vault takes microseconds.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Dense index of a note in a [`Graph`].
pub type NoteId = u32;

/// One resolved link between two notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// The note at the other end (the target for outgoing edges, the source for incoming ones).
    pub note: NoteId,
    /// Index of the link in the source note's `links`.
    pub link: u32,
}

/// Which links a walk follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Links from the note to others.
    Out,
    /// Links from others to the note (backlinks).
    In,
    /// Both, as an undirected graph.
    #[default]
    Both,
}

/// Adjacency lists in both directions.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    out: Vec<Vec<Edge>>,
    inc: Vec<Vec<Edge>>,
}

impl Graph {
    /// Builds the graph of `notes` notes from `(source, link index, target)` triples. Triples with
    /// an id out of range are ignored.
    pub fn build(notes: usize, links: impl IntoIterator<Item = (NoteId, u32, NoteId)>) -> Self {
        let mut out = vec![Vec::new(); notes];
        let mut inc = vec![Vec::new(); notes];
        for (source, link, target) in links {
            if (target as usize) >= notes {
                continue;
            }
            let Some(list) = out.get_mut(source as usize) else {
                continue;
            };
            list.push(Edge { note: target, link });
            if let Some(list) = inc.get_mut(target as usize) {
                list.push(Edge { note: source, link });
            }
        }
        Self { out, inc }
    }

    /// Number of notes.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// True for a graph with no notes.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Resolved links from `note`, in source order.
    pub fn outgoing(&self, note: NoteId) -> &[Edge] {
        self.out.get(note as usize).map_or(&[], Vec::as_slice)
    }

    /// Resolved links to `note`, grouped by source note in id order.
    pub fn incoming(&self, note: NoteId) -> &[Edge] {
        self.inc.get(note as usize).map_or(&[], Vec::as_slice)
    }

    /// Total number of resolved note-to-note links.
    pub fn edge_count(&self) -> usize {
        self.out.iter().map(Vec::len).sum()
    }

    fn step(&self, note: NoteId, direction: Direction) -> impl Iterator<Item = NoteId> + '_ {
        let out = matches!(direction, Direction::Out | Direction::Both);
        let inc = matches!(direction, Direction::In | Direction::Both);
        let outs = if out { self.outgoing(note) } else { &[] };
        let incs = if inc { self.incoming(note) } else { &[] };
        outs.iter().chain(incs).map(|e| e.note)
    }

    /// Notes within `depth` hops of `start` (excluding `start`), with their distance, nearest
    /// first and by id within a distance.
    pub fn neighbors(&self, start: NoteId, depth: u32, direction: Direction) -> Vec<(NoteId, u32)> {
        let mut seen = vec![false; self.len()];
        let Some(flag) = seen.get_mut(start as usize) else {
            return Vec::new();
        };
        *flag = true;
        let mut result = Vec::new();
        let mut frontier = vec![start];
        for distance in 1..=depth {
            let mut next = Vec::new();
            for &note in &frontier {
                for other in self.step(note, direction) {
                    if let Some(flag) = seen.get_mut(other as usize)
                        && !*flag
                    {
                        *flag = true;
                        next.push(other);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            next.sort_unstable();
            result.extend(next.iter().map(|&n| (n, distance)));
            frontier = next;
        }
        result
    }

    /// A shortest chain of notes from `from` to `to` (both included), following `direction`.
    /// `None` when `to` cannot be reached.
    pub fn shortest_path(
        &self,
        from: NoteId,
        to: NoteId,
        direction: Direction,
    ) -> Option<Vec<NoteId>> {
        if (from as usize) >= self.len() || (to as usize) >= self.len() {
            return None;
        }
        if from == to {
            return Some(vec![from]);
        }
        let mut parent: Vec<Option<NoteId>> = vec![None; self.len()];
        let mut queue = VecDeque::from([from]);
        if let Some(slot) = parent.get_mut(from as usize) {
            *slot = Some(from);
        }
        while let Some(note) = queue.pop_front() {
            for other in self.step(note, direction) {
                let Some(slot) = parent.get_mut(other as usize) else {
                    continue;
                };
                if slot.is_some() {
                    continue;
                }
                *slot = Some(note);
                if other == to {
                    let mut path = vec![to];
                    let mut current = to;
                    while current != from {
                        current = parent.get(current as usize).copied().flatten()?;
                        path.push(current);
                    }
                    path.reverse();
                    return Some(path);
                }
                queue.push_back(other);
            }
        }
        None
    }

    /// Notes with no resolved links in or out (links to themselves do not count).
    pub fn orphans(&self) -> Vec<NoteId> {
        (0..self.len())
            .filter_map(|i| NoteId::try_from(i).ok())
            .filter(|&id| {
                self.outgoing(id).iter().all(|e| e.note == id)
                    && self.incoming(id).iter().all(|e| e.note == id)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// a -> b -> c -> d, a -> c, e isolated, f -> f.
    fn sample() -> Graph {
        Graph::build(6, [(0, 0, 1), (1, 0, 2), (2, 0, 3), (0, 1, 2), (5, 0, 5)])
    }

    #[test]
    fn adjacency() {
        let g = sample();
        assert_eq!(
            g.outgoing(0),
            &[Edge { note: 1, link: 0 }, Edge { note: 2, link: 1 }]
        );
        assert_eq!(
            g.incoming(2),
            &[Edge { note: 1, link: 0 }, Edge { note: 0, link: 1 }]
        );
        assert_eq!(g.edge_count(), 5);
        assert!(g.outgoing(99).is_empty());
    }

    #[test]
    fn neighbors_by_direction() {
        let g = sample();
        assert_eq!(g.neighbors(0, 1, Direction::Out), vec![(1, 1), (2, 1)]);
        assert_eq!(
            g.neighbors(0, 2, Direction::Out),
            vec![(1, 1), (2, 1), (3, 2)]
        );
        assert_eq!(
            g.neighbors(3, 2, Direction::In),
            vec![(2, 1), (0, 2), (1, 2)]
        );
        assert_eq!(g.neighbors(1, 1, Direction::Both), vec![(0, 1), (2, 1)]);
        assert!(g.neighbors(4, 3, Direction::Both).is_empty());
        assert!(g.neighbors(42, 3, Direction::Both).is_empty());
    }

    #[test]
    fn shortest_paths() {
        let g = sample();
        assert_eq!(g.shortest_path(0, 3, Direction::Out), Some(vec![0, 2, 3]));
        assert_eq!(g.shortest_path(3, 0, Direction::Out), None);
        assert_eq!(g.shortest_path(3, 0, Direction::Both), Some(vec![3, 2, 0]));
        assert_eq!(g.shortest_path(3, 0, Direction::In), Some(vec![3, 2, 0]));
        assert_eq!(g.shortest_path(2, 2, Direction::Out), Some(vec![2]));
        assert_eq!(g.shortest_path(0, 4, Direction::Both), None);
        assert_eq!(g.shortest_path(0, 40, Direction::Both), None);
    }

    #[test]
    fn orphans_ignore_self_links() {
        assert_eq!(sample().orphans(), vec![4, 5]);
    }
}
