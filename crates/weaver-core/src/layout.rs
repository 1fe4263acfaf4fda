//! A force-directed layout of the link graph, so a viewer's first frame is already laid out:
//! ForceAtlas2's forces (repulsion proportional to the product of degrees, linear attraction
//! along links, gravity towards the centre) with Barnes-Hut approximation of the repulsion
//! (a quadtree per iteration, `O(n log n)`), and a cooling step size instead of ForceAtlas2's
//! per-node swing (fewer knobs; the client refines the layout anyway).
//!
//! Deterministic: the same graph gives the same positions (start on a golden-angle spiral, no
//! randomness), so a cached layout and a recomputed one agree.

// Positions, degrees and quadtree nodes are dense vectors indexed by ids that come from the
// loops over those same vectors (or from `edges`, checked against `n` up front): the indexing
// cannot go out of bounds, and `get` everywhere would bury the arithmetic.
#![allow(clippy::indexing_slicing)]

/// The knobs of [`force_layout`].
#[derive(Debug, Clone)]
pub struct LayoutOptions {
    /// Iterations at most (fewer for large graphs: see [`force_layout`]).
    pub iterations: u32,
    /// Barnes-Hut accuracy: a quadtree cell counts as one body when its size over its distance
    /// is below this (ForceAtlas2's default 1.2).
    pub theta: f32,
    /// Repulsion strength.
    pub repulsion: f32,
    /// Gravity strength.
    pub gravity: f32,
}

impl Default for LayoutOptions {
    fn default() -> Self {
        Self {
            iterations: 200,
            theta: 1.2,
            repulsion: 2.0,
            gravity: 1.0,
        }
    }
}

/// Lays out `n` nodes linked by `edges` (`(source, target)` indexes; out-of-range ones are
/// ignored). Returns one position per node, centred on the origin. The work is bounded: about
/// `2·10^8 / (n + edges)` iterations at most, so a 10,000-note vault costs a second or so.
///
/// ```
/// let positions = weaver_core::layout::force_layout(3, &[(0, 1), (1, 2)], &Default::default());
/// assert_eq!(positions.len(), 3);
/// let d = |a: (f32, f32), b: (f32, f32)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
/// // Linked nodes end closer than the ends of the chain.
/// assert!(d(positions[0], positions[1]) < d(positions[0], positions[2]));
/// ```
pub fn force_layout(n: usize, edges: &[(u32, u32)], options: &LayoutOptions) -> Vec<(f32, f32)> {
    let edges: Vec<(usize, usize)> = edges
        .iter()
        .map(|&(s, t)| (s as usize, t as usize))
        .filter(|&(s, t)| s < n && t < n && s != t)
        .collect();
    let mut pos: Vec<(f32, f32)> = (0..n).map(|i| spiral(i, n)).collect();
    if n < 2 {
        return pos;
    }
    let mut mass = vec![1.0f32; n];
    for &(s, t) in &edges {
        mass[s] += 1.0;
        mass[t] += 1.0;
    }
    let budget = 200_000_000 / (n + edges.len() * 4 + 1);
    let iterations = options
        .iterations
        .min(u32::try_from(budget).unwrap_or(u32::MAX).max(20));
    let mut force = vec![(0.0f32, 0.0f32); n];
    let mut tree = QuadTree::default();
    let mut stack = Vec::new();
    // The step starts at the spiral's spacing and cools geometrically to a tenth of it.
    let start_step = (n as f32).sqrt() * 2.0;
    for iteration in 0..iterations {
        force.iter_mut().for_each(|f| *f = (0.0, 0.0));
        tree.build(&pos, &mass);
        for i in 0..n {
            let (fx, fy) = tree.repulsion(
                i,
                pos[i],
                mass[i],
                (options.theta, options.repulsion),
                &mut stack,
            );
            force[i].0 += fx;
            force[i].1 += fy;
            // Gravity pulls towards the centre, stronger for heavier nodes, so disconnected
            // parts do not drift away.
            let (x, y) = pos[i];
            let d = (x * x + y * y).sqrt().max(0.01);
            force[i].0 -= options.gravity * mass[i] * x / d;
            force[i].1 -= options.gravity * mass[i] * y / d;
        }
        for &(s, t) in &edges {
            let dx = pos[t].0 - pos[s].0;
            let dy = pos[t].1 - pos[s].1;
            force[s].0 += dx;
            force[s].1 += dy;
            force[t].0 -= dx;
            force[t].1 -= dy;
        }
        let progress = iteration as f32 / iterations.max(1) as f32;
        let step = start_step * 0.1f32.powf(progress);
        for i in 0..n {
            let (fx, fy) = force[i];
            let len = (fx * fx + fy * fy).sqrt();
            if len > 0.0 && len.is_finite() {
                // Heavier nodes move less, as in ForceAtlas2; no move exceeds the step.
                let scale = (len / mass[i]).min(step) / len;
                pos[i].0 += fx * scale;
                pos[i].1 += fy * scale;
            }
        }
    }
    let (cx, cy) = pos
        .iter()
        .fold((0.0, 0.0), |(a, b), &(x, y)| (a + x, b + y));
    let (cx, cy) = (cx / n as f32, cy / n as f32);
    pos.iter_mut().for_each(|p| {
        p.0 -= cx;
        p.1 -= cy;
    });
    pos
}

/// Position `i` of `n` on a golden-angle spiral of unit spacing.
fn spiral(i: usize, n: usize) -> (f32, f32) {
    let _ = n;
    let golden = std::f32::consts::PI * (3.0 - 5.0f32.sqrt());
    let r = (i as f32 + 0.5).sqrt() * 4.0;
    let a = i as f32 * golden;
    (r * a.cos(), r * a.sin())
}

/// One cell of the quadtree: its bounds, mass and centre of mass, and either four children
/// or at most one body.
#[derive(Debug, Clone, Copy)]
struct Cell {
    cx: f32,
    cy: f32,
    half: f32,
    mass: f32,
    mx: f32,
    my: f32,
    /// Index of the first of four children in `cells`, or 0 for a leaf.
    children: usize,
    /// The body in a leaf.
    body: Option<usize>,
}

#[derive(Debug, Default)]
struct QuadTree {
    cells: Vec<Cell>,
}

/// Bodies closer than this share a leaf rather than splitting forever.
const MIN_HALF: f32 = 1e-3;

impl QuadTree {
    fn build(&mut self, pos: &[(f32, f32)], mass: &[f32]) {
        self.cells.clear();
        let (mut min_x, mut min_y, mut max_x, mut max_y) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for &(x, y) in pos {
            min_x = min_x.min(x);
            min_y = min_y.min(y);
            max_x = max_x.max(x);
            max_y = max_y.max(y);
        }
        let half = ((max_x - min_x).max(max_y - min_y) / 2.0).max(1.0) * 1.01;
        self.cells.push(Cell::empty(
            (min_x + max_x) / 2.0,
            (min_y + max_y) / 2.0,
            half,
        ));
        for (i, &p) in pos.iter().enumerate() {
            self.insert(0, i, p, mass[i], pos);
        }
    }

    fn insert(&mut self, mut cell: usize, body: usize, p: (f32, f32), m: f32, pos: &[(f32, f32)]) {
        loop {
            let c = self.cells[cell];
            // Every cell on the way accumulates the body's mass.
            let total = c.mass + m;
            self.cells[cell].mx = (c.mx * c.mass + p.0 * m) / total;
            self.cells[cell].my = (c.my * c.mass + p.1 * m) / total;
            self.cells[cell].mass = total;
            if c.children != 0 {
                cell = c.children + quadrant(&c, p);
                continue;
            }
            let Some(other) = c.body else {
                if c.mass == 0.0 {
                    self.cells[cell].body = Some(body);
                }
                return;
            };
            if c.half < MIN_HALF {
                // Coincident bodies: the cell's mass counts both; keep the first as its body.
                return;
            }
            // Split: four children, move the resident body down, then continue with the new one.
            let first = self.cells.len();
            let h = c.half / 2.0;
            for (dx, dy) in [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)] {
                self.cells
                    .push(Cell::empty(c.cx + dx * h, c.cy + dy * h, h));
            }
            self.cells[cell].children = first;
            self.cells[cell].body = None;
            let q = pos[other];
            let child = first + quadrant(&c, q);
            let other_mass = c.mass;
            let cell_ref = &mut self.cells[child];
            cell_ref.mass = other_mass;
            cell_ref.mx = q.0;
            cell_ref.my = q.1;
            cell_ref.body = Some(other);
            cell = first + quadrant(&c, p);
        }
    }

    /// The repulsion on body `i` at `p` with mass `m`.
    /// `stack` is scratch space, reused across calls.
    fn repulsion(
        &self,
        i: usize,
        p: (f32, f32),
        m: f32,
        (theta, k): (f32, f32),
        stack: &mut Vec<usize>,
    ) -> (f32, f32) {
        let mut force = (0.0, 0.0);
        stack.clear();
        stack.push(0);
        while let Some(index) = stack.pop() {
            let c = self.cells[index];
            if c.mass == 0.0 || c.body == Some(i) {
                continue;
            }
            let dx = p.0 - c.mx;
            let dy = p.1 - c.my;
            let d2 = (dx * dx + dy * dy).max(0.01);
            let d = d2.sqrt();
            if c.children == 0 || (c.half * 2.0) / d < theta {
                // ForceAtlas2: k·(deg_i+1)(deg_j+1)/d, along the unit vector.
                let f = k * m * c.mass / d2;
                force.0 += dx * f;
                force.1 += dy * f;
            } else {
                stack.extend(c.children..c.children + 4);
            }
        }
        force
    }
}

impl Cell {
    fn empty(cx: f32, cy: f32, half: f32) -> Self {
        Self {
            cx,
            cy,
            half,
            mass: 0.0,
            mx: 0.0,
            my: 0.0,
            children: 0,
            body: None,
        }
    }
}

/// Which child of `c` holds `p`: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right.
fn quadrant(c: &Cell, p: (f32, f32)) -> usize {
    usize::from(p.0 >= c.cx) + 2 * usize::from(p.1 >= c.cy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(a: (f32, f32), b: (f32, f32)) -> f32 {
        ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
    }

    #[test]
    fn clusters_are_drawn_together_and_apart() {
        // Two cliques of 10 joined by one link.
        let mut edges = Vec::new();
        for base in [0u32, 10] {
            for a in 0..10 {
                for b in a + 1..10 {
                    edges.push((base + a, base + b));
                }
            }
        }
        edges.push((0, 10));
        let pos = force_layout(20, &edges, &LayoutOptions::default());
        assert!(pos.iter().all(|p| p.0.is_finite() && p.1.is_finite()));
        let mean = |ids: std::ops::Range<usize>| {
            let (sx, sy) = ids
                .clone()
                .fold((0.0, 0.0), |(x, y), i| (x + pos[i].0, y + pos[i].1));
            (sx / ids.len() as f32, sy / ids.len() as f32)
        };
        let (a, b) = (mean(0..10), mean(10..20));
        let spread = (1..10).map(|i| dist(pos[i], a)).fold(0.0, f32::max);
        assert!(
            dist(a, b) > spread,
            "clusters overlap: centres {a:?} {b:?}, spread {spread}"
        );
        // Deterministic.
        assert_eq!(pos, force_layout(20, &edges, &LayoutOptions::default()));
    }

    #[test]
    fn degenerate_graphs() {
        assert!(force_layout(0, &[], &LayoutOptions::default()).is_empty());
        assert_eq!(
            force_layout(1, &[(0, 0), (0, 5)], &LayoutOptions::default()).len(),
            1
        );
        let pos = force_layout(50, &[], &LayoutOptions::default());
        // Unlinked nodes repel: no two share a position.
        for i in 0..50 {
            for j in i + 1..50 {
                assert!(dist(pos[i], pos[j]) > 0.01, "{i} and {j} coincide");
            }
        }
    }
}
