//! Exhaustive nearest-neighbour search over unit vectors, and the fusion of rankings.
//!
//! [`VectorIndex`] keeps every chunk's vector in one contiguous array and answers a query by
//! scoring all of them (the dot product, which is the cosine for unit vectors) and keeping the
//! best chunk per note. Nothing is approximated by the search itself: no graph, no clusters,
//! no build step, no tuning; every chunk is scored on every query.
//!
//! Vectors are stored as 8-bit integers with one scale per vector (symmetric scalar
//! quantisation: `v ≈ scale · q`, `q` in -127..=127), a quarter of the memory of `f32` and a
//! quarter of the bytes a query reads: 384 dimensions take 388 bytes a chunk, 3.9 MB per
//! 10,000 chunks. The query is quantised the same way and each score is an integer dot product
//! (which the compiler turns into SIMD multiply-adds) times the two scales. For the unit
//! vectors of a sentence model the score differs from the `f32` cosine by well under 0.01 (a
//! test bounds it), far below the differences that order a ranking. Large indexes are scanned
//! on every core ([`PARALLEL_ROWS`]).
//!
//! [`fuse`] merges rankings by weighted reciprocal rank fusion: a note's fused score is the sum
//! of `weight / (K + rank)` over the rankings it appears in. It needs no score calibration
//! between BM25 and cosine, and a note high in either list stays high.

use std::collections::HashMap;

use rayon::prelude::*;

/// One vector's owner: a note and the chunk of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRef {
    /// The note's vault path.
    pub path: String,
    /// Which chunk of the note (its index in the note's chunk list).
    pub chunk: u32,
}

/// A note found by vector search, with its best chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorHit {
    /// The note's vault path.
    pub path: String,
    /// The best-matching chunk of it.
    pub chunk: u32,
    /// Cosine similarity of that chunk to the query, in `[-1, 1]`.
    pub score: f32,
}

/// Indexes with at least this many rows are scanned in parallel (one slice per core); below
/// it a scan takes well under a millisecond and threads would cost more than they save.
pub const PARALLEL_ROWS: usize = 16_384;

/// No note: the owner of a free row.
const FREE: u32 = u32::MAX;

/// Every chunk vector of a vault, searched exhaustively.
#[derive(Debug, Clone, Default)]
pub struct VectorIndex {
    dimensions: usize,
    /// `rows × dimensions` quantised components.
    data: Vec<i8>,
    /// Each row's scale (0 for a free row).
    scales: Vec<f32>,
    /// Each row's note slot ([`FREE`] for a free row) and chunk.
    owners: Vec<(u32, u32)>,
    /// Note paths by slot (empty for a free slot).
    paths: Vec<String>,
    /// Slot and rows of each note.
    notes: HashMap<String, (u32, Vec<usize>)>,
    free_rows: Vec<usize>,
    free_slots: Vec<u32>,
}

impl VectorIndex {
    /// An empty index of vectors with `dimensions` components.
    pub fn new(dimensions: usize) -> Self {
        Self {
            dimensions,
            ..Self::default()
        }
    }

    /// The length of every vector.
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// How many chunk vectors are held.
    pub fn len(&self) -> usize {
        self.owners.len() - self.free_rows.len()
    }

    /// Whether no vector is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many notes have vectors.
    pub fn notes(&self) -> usize {
        self.notes.len()
    }

    /// Bytes held by the vectors and their owners (for the memory report).
    pub fn memory_bytes(&self) -> usize {
        self.data.capacity()
            + self.scales.capacity() * std::mem::size_of::<f32>()
            + self.owners.capacity() * std::mem::size_of::<(u32, u32)>()
            + self
                .paths
                .iter()
                .map(|p| std::mem::size_of::<String>() + p.capacity())
                .sum::<usize>()
            + self
                .notes
                .iter()
                .map(|(k, (_, rows))| {
                    k.capacity() + rows.capacity() * std::mem::size_of::<usize>() + 48
                })
                .sum::<usize>()
    }

    /// Replaces the vectors of note `path` with `vectors` (one per chunk, in chunk order).
    /// Vectors of another length than [`Self::dimensions`] are refused.
    pub fn set(&mut self, path: &str, vectors: &[Vec<f32>]) -> Result<(), String> {
        if let Some(bad) = vectors.iter().find(|v| v.len() != self.dimensions) {
            return Err(format!(
                "a vector of `{}` dimensions for `{path}`, expected {}",
                bad.len(),
                self.dimensions
            ));
        }
        self.remove(path);
        if vectors.is_empty() {
            return Ok(());
        }
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                if let Some(p) = self.paths.get_mut(slot as usize) {
                    path.clone_into(p);
                }
                slot
            }
            None => {
                self.paths.push(path.to_owned());
                u32::try_from(self.paths.len() - 1).unwrap_or(FREE)
            }
        };
        let mut rows = Vec::with_capacity(vectors.len());
        let mut quantised = vec![0i8; self.dimensions];
        for (chunk, vector) in vectors.iter().enumerate() {
            let scale = quantise(vector, &mut quantised);
            let owner = (slot, u32::try_from(chunk).unwrap_or(u32::MAX));
            let row = match self.free_rows.pop() {
                Some(row) => {
                    let start = row * self.dimensions;
                    if let Some(place) = self.data.get_mut(start..start + self.dimensions) {
                        place.copy_from_slice(&quantised);
                    }
                    if let Some(s) = self.scales.get_mut(row) {
                        *s = scale;
                    }
                    if let Some(o) = self.owners.get_mut(row) {
                        *o = owner;
                    }
                    row
                }
                None => {
                    self.data.extend_from_slice(&quantised);
                    self.scales.push(scale);
                    self.owners.push(owner);
                    self.owners.len() - 1
                }
            };
            rows.push(row);
        }
        self.notes.insert(path.to_owned(), (slot, rows));
        Ok(())
    }

    /// Removes the vectors of note `path` (nothing when it has none).
    pub fn remove(&mut self, path: &str) {
        let Some((slot, rows)) = self.notes.remove(path) else {
            return;
        };
        for row in rows {
            if let Some(o) = self.owners.get_mut(row) {
                *o = (FREE, 0);
            }
            if let Some(s) = self.scales.get_mut(row) {
                *s = 0.0;
            }
            self.free_rows.push(row);
        }
        if let Some(p) = self.paths.get_mut(slot as usize) {
            p.clear();
        }
        self.free_slots.push(slot);
    }

    /// The `limit` notes nearest to `query`, each by its best chunk, best first; notes for
    /// which `skip` holds are left out. `query` must have [`Self::dimensions`] components
    /// (else nothing is found).
    pub fn search(
        &self,
        query: &[f32],
        limit: usize,
        skip: impl Fn(&str) -> bool,
    ) -> Vec<VectorHit> {
        if limit == 0 {
            return Vec::new();
        }
        let mut ranking = self.ranking(query);
        ranking.reserve(limit);
        ranking.filter(|hit| !skip(&hit.path)).take(limit).collect()
    }

    /// Every note with vectors, nearest to `query` first (ties by path), each by its best
    /// chunk, produced lazily: the scan scores every chunk once, then only as much of the
    /// ranking is ordered as is taken. `query` must have [`Self::dimensions`] components (else
    /// the ranking is empty).
    pub fn ranking(&self, query: &[f32]) -> Ranking<'_> {
        if query.len() != self.dimensions || self.dimensions == 0 {
            return Ranking {
                index: self,
                rest: Vec::new(),
                ready: Vec::new(),
                next_batch: 0,
            };
        }
        let mut q = vec![0i8; self.dimensions];
        let q_scale = quantise(query, &mut q);
        let rest: Vec<(u32, u32, f32)> = self
            .best_per_note(&q, q_scale)
            .into_iter()
            .enumerate()
            .filter(|(slot, (_, score))| {
                score.is_finite() && self.paths.get(*slot).is_some_and(|p| !p.is_empty())
            })
            .map(|(slot, (chunk, score))| (u32::try_from(slot).unwrap_or(FREE), chunk, score))
            .collect();
        Ranking {
            index: self,
            rest,
            ready: Vec::new(),
            next_batch: FIRST_RANKED,
        }
    }

    /// For every note slot, its best chunk and that chunk's score (`-inf` for a slot without
    /// rows). Scanned in parallel slices when the index is large.
    fn best_per_note(&self, q: &[i8], q_scale: f32) -> Vec<(u32, f32)> {
        let dims = self.dimensions;
        let slots = self.paths.len();
        let scan = |first_row: usize, data: &[i8]| {
            let mut best = vec![(0u32, f32::NEG_INFINITY); slots];
            for (i, row) in data.chunks_exact(dims).enumerate() {
                let r = first_row + i;
                let (Some(&(slot, chunk)), Some(&scale)) = (self.owners.get(r), self.scales.get(r))
                else {
                    break;
                };
                if slot == FREE {
                    continue;
                }
                let score = dot_i8(q, row) as f32 * q_scale * scale;
                if let Some(entry) = best.get_mut(slot as usize)
                    && score > entry.1
                {
                    *entry = (chunk, score);
                }
            }
            best
        };
        let rows = self.owners.len();
        if rows < PARALLEL_ROWS {
            return scan(0, &self.data);
        }
        let threads = rayon::current_num_threads().max(1);
        let per = rows.div_ceil(threads).max(1);
        self.data
            .par_chunks(per * dims)
            .enumerate()
            .map(|(i, data)| scan(i * per, data))
            .reduce_with(|mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    if y.1 > x.1 {
                        *x = y;
                    }
                }
                a
            })
            .unwrap_or_default()
    }

    /// The vectors of note `path` as stored (dequantised), in chunk order; empty when it has
    /// none.
    pub fn vectors_of(&self, path: &str) -> Vec<Vec<f32>> {
        let Some((_, rows)) = self.notes.get(path) else {
            return Vec::new();
        };
        rows.iter()
            .filter_map(|&row| {
                let start = row * self.dimensions;
                let data = self.data.get(start..start + self.dimensions)?;
                let scale = *self.scales.get(row)?;
                Some(data.iter().map(|&x| f32::from(x) * scale).collect())
            })
            .collect()
    }
}

/// How many notes a [`Ranking`] orders first; each further batch is four times the last.
const FIRST_RANKED: usize = 64;

/// A vector search's notes, best first, ordered as they are taken (see
/// [`VectorIndex::ranking`]). Ranked first, paths looked at after: a path's copy costs far
/// more than a score, and callers take the first few hundred of tens of thousands of notes.
#[derive(Debug)]
pub struct Ranking<'a> {
    index: &'a VectorIndex,
    /// Scored notes not yet ordered: `(slot, best chunk, score)`, every one ranking after
    /// those of `ready`.
    rest: Vec<(u32, u32, f32)>,
    /// The next notes, ordered, best last (so that `pop` takes the best).
    ready: Vec<(u32, u32, f32)>,
    /// How many of `rest` to order when `ready` runs out.
    next_batch: usize,
}

impl Ranking<'_> {
    /// Orders at least `n` notes at the next refill (for a caller that knows it takes them).
    pub fn reserve(&mut self, n: usize) {
        self.next_batch = self.next_batch.max(n.saturating_add(n / 2));
    }

    /// Orders the best `next_batch` notes of `rest` into `ready`.
    fn refill(&mut self) {
        let index = self.index;
        let path_of = |slot: u32| index.paths.get(slot as usize).map_or("", String::as_str);
        // Best first: higher score, then the lower path.
        let order = |a: &(u32, u32, f32), b: &(u32, u32, f32)| {
            b.2.total_cmp(&a.2)
                .then_with(|| path_of(a.0).cmp(path_of(b.0)))
        };
        let take = self.next_batch.max(1);
        self.next_batch = take.saturating_mul(4);
        let mut batch = if take < self.rest.len() {
            self.rest.select_nth_unstable_by(take - 1, order);
            let tail = self.rest.split_off(take);
            std::mem::replace(&mut self.rest, tail)
        } else {
            std::mem::take(&mut self.rest)
        };
        batch.sort_unstable_by(|a, b| order(b, a));
        self.ready = batch;
    }
}

impl Iterator for Ranking<'_> {
    type Item = VectorHit;

    fn next(&mut self) -> Option<VectorHit> {
        if self.ready.is_empty() {
            if self.rest.is_empty() {
                return None;
            }
            self.refill();
        }
        let (slot, chunk, score) = self.ready.pop()?;
        let path = self.index.paths.get(slot as usize)?;
        Some(VectorHit {
            path: path.clone(),
            chunk,
            score,
        })
    }
}

/// Quantises `v` into `out` (same length): returns the scale `s` with `v ≈ s · out`.
fn quantise(v: &[f32], out: &mut [i8]) -> f32 {
    let max = v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    if max == 0.0 || !max.is_finite() {
        out.fill(0);
        return 0.0;
    }
    let scale = max / 127.0;
    for (o, x) in out.iter_mut().zip(v) {
        // In range by construction: |x / scale| <= 127.
        *o = (x / scale).round().clamp(-127.0, 127.0) as i8;
    }
    scale
}

/// Integer dot product in 32 independent lanes (which the compiler turns into SIMD
/// multiply-adds of 16-bit products into 32-bit sums).
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    let mut lanes = [0i32; 32];
    let (a32, b32) = (a.chunks_exact(32), b.chunks_exact(32));
    let rest: i32 = a32
        .remainder()
        .iter()
        .zip(b32.remainder())
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum();
    for (x, y) in a32.zip(b32) {
        for ((lane, &x), &y) in lanes.iter_mut().zip(x).zip(y) {
            *lane += i32::from(i16::from(x) * i16::from(y));
        }
    }
    lanes.iter().sum::<i32>() + rest
}

/// Dot product in eight independent lanes (which the compiler turns into SIMD).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for ((lane, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *lane += x * y;
        }
    }
    lanes.iter().sum::<f32>() + rest
}

/// The constant of reciprocal rank fusion. Cormack et al. (2009) and most engines use 60; on
/// this project's question sets 10 ranks better with every weight tried (obsidian-hub, 50
/// questions: nDCG@10 0.767 against 0.703 at 60 with weights 1 : 3; `scripts/search-quality.py
/// --fusion-sweep`, docs/benchmarks.md): a smaller k lets a ranking's first places count more
/// than agreement far down both lists.
pub const RRF_K: f32 = 10.0;

/// A note of a fused ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    /// The note's path.
    pub path: String,
    /// `Σ weight / (RRF_K + rank)` over the rankings it is in (ranks from 1).
    pub score: f32,
    /// Its place (from 0) in each ranking, in the order given; `None` where it is absent.
    pub ranks: Vec<Option<usize>>,
}

/// Fuses rankings (each a list of note paths, best first, with its weight) by weighted
/// reciprocal rank fusion; best first, ties by path.
pub fn fuse(rankings: &[(&[&str], f32)]) -> Vec<Fused> {
    let mut fused: HashMap<&str, Fused> = HashMap::new();
    for (which, (ranking, weight)) in rankings.iter().enumerate() {
        for (rank, path) in ranking.iter().enumerate() {
            let entry = fused.entry(path).or_insert_with(|| Fused {
                path: (*path).to_owned(),
                score: 0.0,
                ranks: vec![None; rankings.len()],
            });
            if entry.ranks.get(which).is_some_and(Option::is_none) {
                entry.score += weight / (RRF_K + rank as f32 + 1.0);
                if let Some(slot) = entry.ranks.get_mut(which) {
                    *slot = Some(rank);
                }
            }
        }
    }
    let mut fused: Vec<Fused> = fused.into_values().collect();
    fused.sort_unstable_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.path.cmp(&b.path))
    });
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / norm).collect()
    }

    /// Deterministic pseudo-random unit vectors.
    fn random_unit(seed: u64, dims: usize) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let v: Vec<f32> = (0..dims)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect();
        unit(&v)
    }

    #[test]
    fn dot_products_match_the_plain_sums_for_every_length() {
        for len in [0, 1, 7, 8, 9, 31, 32, 33, 384, 385] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-3, "len {len}");
            let ai: Vec<i8> = (0..len)
                .map(|i: i32| (i * 37) % 255 - 127)
                .map(|x| x as i8)
                .collect();
            let bi: Vec<i8> = (0..len)
                .map(|i: i32| (i * 11) % 255 - 127)
                .map(|x| x as i8)
                .collect();
            let plain: i32 = ai
                .iter()
                .zip(&bi)
                .map(|(&x, &y)| i32::from(x) * i32::from(y))
                .sum();
            assert_eq!(dot_i8(&ai, &bi), plain, "len {len}");
        }
    }

    #[test]
    fn quantised_scores_stay_within_a_hundredth_of_the_cosine() {
        let mut index = VectorIndex::new(384);
        let vectors: Vec<Vec<f32>> = (0..200).map(|i| random_unit(i, 384)).collect();
        for (i, v) in vectors.iter().enumerate() {
            index
                .set(&format!("n{i}.md"), std::slice::from_ref(v))
                .unwrap();
        }
        for q in 0..20 {
            let query = random_unit(1000 + q, 384);
            let hits = index.search(&query, 200, |_| false);
            assert_eq!(hits.len(), 200);
            for hit in &hits {
                let i: usize = hit.path[1..hit.path.len() - 3].parse().unwrap();
                let exact = dot(&query, &vectors[i]);
                assert!((hit.score - exact).abs() < 0.01, "{} vs {exact}", hit.score);
            }
            // The best by the exact cosine is among the first three found.
            let best = (0..200)
                .max_by(|&a, &b| dot(&query, &vectors[a]).total_cmp(&dot(&query, &vectors[b])))
                .unwrap();
            let first: Vec<&str> = hits.iter().take(3).map(|h| h.path.as_str()).collect();
            assert!(first.contains(&format!("n{best}.md").as_str()), "{first:?}");
        }
    }

    #[test]
    fn a_large_index_is_scanned_in_parallel_with_the_same_answer() {
        let mut index = VectorIndex::new(16);
        for i in 0..(PARALLEL_ROWS as u64 + 1000) / 2 {
            index
                .set(
                    &format!("n{i}.md"),
                    &[random_unit(i, 16), random_unit(i + 7, 16)],
                )
                .unwrap();
        }
        assert!(index.len() >= PARALLEL_ROWS);
        let query = random_unit(99, 16);
        let hits = index.search(&query, 5, |_| false);
        // The same as scoring one by one.
        let mut one_by_one: Vec<(f32, String)> = index
            .notes
            .keys()
            .map(|path| {
                let best = index
                    .vectors_of(path)
                    .iter()
                    .map(|v| dot(&query, v))
                    .fold(f32::NEG_INFINITY, f32::max);
                (best, path.clone())
            })
            .collect();
        one_by_one.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let expected: Vec<&str> = one_by_one.iter().take(5).map(|(_, p)| p.as_str()).collect();
        let found: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn the_lazy_ranking_is_the_full_order_however_far_it_is_taken() {
        // Ties included: several notes share each vector, so the path decides among them.
        let mut index = VectorIndex::new(8);
        for i in 0..3000u64 {
            index
                .set(&format!("n{i:04}.md"), &[random_unit(i % 700, 8)])
                .unwrap();
        }
        index.remove("n0005.md");
        let query = random_unit(4242, 8);
        let full: Vec<(String, u32, f32)> = {
            let mut all: Vec<(String, u32, f32)> = index
                .notes
                .keys()
                .map(|path| {
                    let hit = &index.search(&query, usize::MAX, |p| p != path)[0];
                    (hit.path.clone(), hit.chunk, hit.score)
                })
                .collect();
            all.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
            all
        };
        let lazy: Vec<(String, u32, f32)> = index
            .ranking(&query)
            .map(|h| (h.path, h.chunk, h.score))
            .collect();
        assert_eq!(lazy.len(), 2999);
        assert_eq!(lazy, full);
        for limit in [1, 10, 63, 64, 65, 300, 2999, 5000] {
            let hits = index.search(&query, limit, |_| false);
            let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
            let expected: Vec<&str> = full.iter().take(limit).map(|h| h.0.as_str()).collect();
            assert_eq!(paths, expected, "limit {limit}");
        }
        // Skipping most notes still finds the rest in order, past every batch.
        let odd = index.search(&query, 2000, |p| p.ends_with("0.md"));
        let expected: Vec<&str> = full
            .iter()
            .map(|h| h.0.as_str())
            .filter(|p| !p.ends_with("0.md"))
            .take(2000)
            .collect();
        let paths: Vec<&str> = odd.iter().map(|h| h.path.as_str()).collect();
        assert_eq!(paths, expected);
        assert_eq!(index.ranking(&[1.0]).count(), 0);
    }

    #[test]
    fn nearest_notes_by_their_best_chunk_with_replace_remove_and_skip() {
        let mut index = VectorIndex::new(3);
        index
            .set("a.md", &[unit(&[1.0, 0.0, 0.0]), unit(&[0.0, 1.0, 0.0])])
            .unwrap();
        index.set("b.md", &[unit(&[0.7, 0.7, 0.0])]).unwrap();
        index.set("c.md", &[unit(&[0.0, 0.0, 1.0])]).unwrap();
        assert_eq!((index.len(), index.notes()), (4, 3));

        let query = unit(&[0.0, 1.0, 0.1]);
        let hits = index.search(&query, 10, |_| false);
        let order: Vec<(&str, u32)> = hits.iter().map(|h| (h.path.as_str(), h.chunk)).collect();
        assert_eq!(order, [("a.md", 1), ("b.md", 0), ("c.md", 0)]);
        assert_eq!(index.search(&query, 1, |_| false).len(), 1);
        let skipped = index.search(&query, 10, |path| path == "a.md");
        assert_eq!(skipped[0].path, "b.md");

        // Replacing reuses rows and slots; removed notes are never found.
        index.set("a.md", &[unit(&[0.0, 0.0, 1.0])]).unwrap();
        assert_eq!(index.len(), 3);
        index.remove("c.md");
        let hits = index.search(&unit(&[0.0, 0.0, 1.0]), 10, |_| false);
        assert_eq!(hits[0].path, "a.md");
        assert!(hits.iter().all(|h| h.path != "c.md"));
        index.set("d.md", &[unit(&[1.0, 1.0, 1.0])]).unwrap();
        assert_eq!((index.len(), index.notes()), (3, 3));
        assert_eq!(index.vectors_of("a.md").len(), 1);
        assert!(index.vectors_of("c.md").is_empty());
        let back = &index.vectors_of("d.md")[0];
        assert!((dot(back, &unit(&[1.0, 1.0, 1.0])) - 1.0).abs() < 0.01);
        // A note set to no vectors has none.
        index.set("d.md", &[]).unwrap();
        assert_eq!(index.notes(), 2);
    }

    #[test]
    fn vectors_of_another_length_are_refused() {
        let mut index = VectorIndex::new(3);
        let error = index.set("a.md", &[vec![1.0, 0.0]]).unwrap_err();
        assert!(error.contains("`2` dimensions"), "{error}");
        assert!(index.is_empty());
        assert!(index.search(&[1.0, 0.0], 10, |_| false).is_empty());
    }

    #[test]
    fn fusion_rewards_agreement_keeps_either_lists_best_and_weighs() {
        let keyword = ["k1.md", "both.md", "k3.md"];
        let vector = ["v1.md", "both.md"];
        let fused = fuse(&[(&keyword, 1.0), (&vector, 1.0)]);
        let order: Vec<&str> = fused.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(order[0], "both.md");
        assert_eq!(fused[0].ranks, [Some(1), Some(1)]);
        assert_eq!(&order[1..3], ["k1.md", "v1.md"]);
        assert_eq!(order.len(), 4);
        assert!(fuse(&[]).is_empty());
        // A heavier ranking's first place wins over the other's.
        let fused = fuse(&[(&keyword, 1.0), (&vector, 2.0)]);
        assert_eq!(fused[0].path, "both.md");
        assert_eq!(fused[1].path, "v1.md");
        assert_eq!(fused[1].ranks, [None, Some(0)]);
    }
}
