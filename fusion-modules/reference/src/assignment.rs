//! Optimal rectangular assignment: the shortest augmenting path method of
//! Jonker and Volgenant in the rectangular form of Crouse (2016), O(n^2 m)
//! for n <= m.
//!
//! Non-finite costs are forbidden pairs. The solver first maximises the
//! number of allowed pairs, then minimises their total cost: forbidden
//! entries get a finite cost larger than any sum of allowed costs, and pairs
//! through them are dropped from the answer.

use crate::geometry::MinMax;
use alloc::vec::Vec;

const NONE: u32 = u32::MAX;

/// Per-column state of the search, kept together so that the inner loop
/// of the search walks one array instead of five: the Wasm build then
/// keeps one base address in a register instead of reloading several from
/// the stack on every column.
#[derive(Debug, Clone, Copy)]
struct Column {
    /// Column potential.
    v: f64,
    /// Shortest reduced path cost to the column in the current search.
    shortest: f64,
    /// Row from which the column was reached.
    path: u32,
    /// Row assigned to the column, or `NONE`.
    row: u32,
    /// Scanned in the current search.
    scanned: bool,
}

const FRESH_COLUMN: Column = Column {
    v: 0.0,
    shortest: f64::INFINITY,
    path: NONE,
    row: NONE,
    scanned: false,
};

/// An assignment solver with grow-only scratch buffers: once they have
/// grown to the largest problem seen, [`Assignment::solve`] does not
/// allocate.
#[derive(Debug, Clone, Default)]
pub struct Assignment {
    /// Internal n x m cost matrix, n <= m, forbidden entries replaced.
    cost: Vec<f64>,
    /// Row potentials.
    u: Vec<f64>,
    col4row: Vec<u32>,
    /// Rows scanned in the current search.
    scanned_row: Vec<bool>,
    columns: Vec<Column>,
}

impl Assignment {
    /// A solver with empty buffers.
    pub fn new() -> Self {
        Self::default()
    }

    /// A solver whose buffers already fit `rows` x `cols` problems.
    pub fn with_capacity(rows: usize, cols: usize) -> Self {
        let n = rows.min(cols);
        let m = rows.max(cols);
        Assignment {
            cost: Vec::with_capacity(rows.saturating_mul(cols)),
            u: Vec::with_capacity(n),
            col4row: Vec::with_capacity(n),
            scanned_row: Vec::with_capacity(n),
            columns: Vec::with_capacity(m),
        }
    }

    /// Solves the assignment for the row-major `rows` x `cols` matrix
    /// `cost` and writes each row's column, or `None`, to
    /// `row_to_col[..rows]`. Returns the number of pairs.
    ///
    /// Any non-finite cost (infinity, NaN) forbids that pair. Among the
    /// assignments with the most allowed pairs, the result has the lowest
    /// total cost; ties are broken deterministically by index. The index
    /// type `I` is the caller's (`u16`, `u32`, `usize`...); a column that
    /// does not fit in it is left unassigned.
    ///
    /// # Panics
    ///
    /// If `cost` is shorter than `rows * cols` or `row_to_col` is shorter
    /// than `rows`: both are the caller's bugs, not the data's.
    pub fn solve<I: TryFrom<usize>>(
        &mut self,
        rows: usize,
        cols: usize,
        cost: &[f64],
        row_to_col: &mut [Option<I>],
    ) -> usize {
        let cells = rows.checked_mul(cols).expect("assignment too large");
        assert!(cost.len() >= cells, "cost matrix shorter than rows * cols");
        assert!(row_to_col.len() >= rows, "row_to_col shorter than rows");
        let cost = &cost[..cells];
        let row_to_col = &mut row_to_col[..rows];
        row_to_col.iter_mut().for_each(|r| *r = None);
        // Memory runs out long before this; the check keeps u32 indices sound.
        assert!(rows.max(cols) < NONE as usize, "assignment too large");

        let (lo, hi) = finite_range(cost);
        if !lo.is_finite() {
            // Empty, or every pair forbidden.
            return 0;
        }

        // Internally n <= m rows; work on the transpose if needed.
        let transposed = rows > cols;
        let (n, m) = if transposed {
            (cols, rows)
        } else {
            (rows, cols)
        };

        // Shift allowed costs to [0, range]; scale down only if the range
        // could overflow, so ordinary costs keep their exact differences.
        let half_range = hi * 0.5 - lo * 0.5;
        let scale = if half_range > 1e100 {
            1.0 / half_range
        } else {
            1.0
        };
        let range = hi * scale - lo * scale;
        // Larger than any sum of n allowed costs: one more allowed pair
        // always beats any saving among the others.
        let big = (range + 1.0) * (n as f64 + 1.0);

        let shift = |c: f64| {
            if c.is_finite() {
                c * scale - lo * scale
            } else {
                big
            }
        };
        // Whole rows through `extend`: one capacity check per row, and
        // the untransposed copy vectorises.
        self.cost.clear();
        if transposed {
            for i in 0..n {
                let column = cost[i..].iter().step_by(cols).take(m);
                self.cost.extend(column.map(|&c| shift(c)));
            }
        } else {
            self.cost.extend(cost.iter().map(|&c| shift(c)));
        }

        self.run(n, m);

        let mut pairs = 0;
        for (i, &j) in self.col4row[..n].iter().enumerate() {
            let j = j as usize;
            let (r, c) = if transposed { (j, i) } else { (i, j) };
            if cost[r * cols + c].is_finite()
                && let Ok(c) = I::try_from(c)
            {
                row_to_col[r] = Some(c);
                pairs += 1;
            }
        }
        pairs
    }

    /// Shortest augmenting path on `self.cost` (n x m, n <= m, all finite).
    fn run(&mut self, n: usize, m: usize) {
        reset(&mut self.u, n, 0.0);
        reset(&mut self.col4row, n, NONE);
        reset(&mut self.scanned_row, n, false);
        reset(&mut self.columns, m, FRESH_COLUMN);
        let (cost, u, col4row, scanned_row, columns) = (
            &self.cost[..n * m],
            &mut self.u[..n],
            &mut self.col4row[..n],
            &mut self.scanned_row[..n],
            &mut self.columns[..m],
        );

        for cur_row in 0..n {
            let (sink, min_val) = augmenting_path(cost, u, scanned_row, columns, cur_row);

            // Update the dual variables.
            u[cur_row] += min_val;
            for i in 0..n {
                if scanned_row[i] && i != cur_row {
                    let j = col4row[i] as usize;
                    u[i] += min_val - columns[j].shortest;
                }
            }
            for col in columns.iter_mut() {
                if col.scanned {
                    col.v -= min_val - col.shortest;
                }
            }

            // Augment along the path back to the current row.
            let mut j = sink;
            loop {
                let i = columns[j].path;
                columns[j].row = i;
                let prev = core::mem::replace(&mut col4row[i as usize], j as u32);
                if i as usize == cur_row {
                    break;
                }
                j = prev as usize;
            }
        }
    }
}

/// Dijkstra over reduced costs from `cur_row` to the nearest free column
/// (`cost` is n x `columns.len()`). Returns the sink column and the path
/// length. A function of slices: the compiler knows they do not overlap
/// and keeps their addresses and lengths in registers.
fn augmenting_path(
    cost: &[f64],
    u: &[f64],
    scanned_row: &mut [bool],
    columns: &mut [Column],
    cur_row: usize,
) -> (usize, f64) {
    let m = columns.len();
    scanned_row.fill(false);
    for col in columns.iter_mut() {
        col.scanned = false;
        col.shortest = f64::INFINITY;
    }

    let mut min_val = 0.0;
    let mut i = cur_row;
    loop {
        scanned_row[i] = true;
        let row = &cost[i * m..(i + 1) * m];
        let u_i = u[i];
        let mut lowest = f64::INFINITY;
        let mut best = usize::MAX;
        // Whether column `best` is assigned.
        let mut best_taken = true;
        let mut visit = |j: usize, col: &mut Column, c: f64| {
            if col.scanned {
                return;
            }
            let r = min_val + c - u_i - col.v;
            if r < col.shortest {
                col.path = i as u32;
                col.shortest = r;
            }
            let s = col.shortest;
            let taken = col.row != NONE;
            // Lowest index wins ties, except that a free column ends the
            // search sooner.
            if best == usize::MAX || s < lowest || (s == lowest && !taken && best_taken) {
                lowest = s;
                best = j;
                best_taken = taken;
            }
        };
        // Four columns per iteration, in order: the Wasm build checks for
        // interruption, and moves the search's values through the stack,
        // once per four columns.
        let (col_groups, col_rest) = columns.as_chunks_mut::<4>();
        let (row_groups, row_rest) = row.as_chunks::<4>();
        for (g, (cols, cs)) in col_groups.iter_mut().zip(row_groups).enumerate() {
            for k in 0..4 {
                visit(4 * g + k, &mut cols[k], cs[k]);
            }
        }
        let first_rest = 4 * col_groups.len();
        for (k, (col, &c)) in col_rest.iter_mut().zip(row_rest).enumerate() {
            visit(first_rest + k, col, c);
        }
        // All costs are finite and n <= m, so a column is always found.
        debug_assert!(best != usize::MAX);
        min_val = lowest;
        columns[best].scanned = true;
        if !best_taken {
            return (best, min_val);
        }
        i = columns[best].row as usize;
    }
}

/// The lowest and highest finite entries of `cost` (+inf and -inf when
/// there are none). Eight independent lanes without a branch, folded in a
/// fixed order: both builds vectorise it, where a loop with a branch per
/// entry costs the Wasm build an interruption check and a mispredicted
/// branch per entry (most entries of a gated matrix are forbidden).
fn finite_range(cost: &[f64]) -> (f64, f64) {
    const LANES: usize = 8;
    let (groups, rest) = cost.as_chunks::<LANES>();
    let mut lo = [f64::INFINITY; LANES];
    let mut hi = [f64::NEG_INFINITY; LANES];
    for group in groups {
        for k in 0..LANES {
            let c = group[k];
            let finite = c.is_finite();
            lo[k] = lo[k].fmin(if finite { c } else { f64::INFINITY });
            hi[k] = hi[k].fmax(if finite { c } else { f64::NEG_INFINITY });
        }
    }
    for &c in rest {
        if c.is_finite() {
            lo[0] = lo[0].fmin(c);
            hi[0] = hi[0].fmax(c);
        }
    }
    let (mut l, mut h) = (lo[0], hi[0]);
    for k in 1..LANES {
        l = l.fmin(lo[k]);
        h = h.fmax(hi[k]);
    }
    (l, h)
}

/// Sets `v` to `len` copies of `value`, reusing its capacity.
fn reset<T: Copy>(v: &mut Vec<T>, len: usize, value: T) {
    v.clear();
    v.resize(len, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lcg::Lcg;

    /// Best (most pairs, then lowest cost) by exhaustive search, where each
    /// row may take a free column or stay unassigned.
    fn brute(rows: usize, cols: usize, cost: &[f64]) -> (usize, f64) {
        struct Search<'a> {
            rows: usize,
            cols: usize,
            cost: &'a [f64],
            used: Vec<bool>,
            best: (usize, f64),
        }
        impl Search<'_> {
            fn go(&mut self, r: usize, k: usize, sum: f64) {
                if r == self.rows {
                    if k > self.best.0 || (k == self.best.0 && sum < self.best.1) {
                        self.best = (k, sum);
                    }
                    return;
                }
                self.go(r + 1, k, sum);
                for c in 0..self.cols {
                    let x = self.cost[r * self.cols + c];
                    if !self.used[c] && x.is_finite() {
                        self.used[c] = true;
                        self.go(r + 1, k + 1, sum + x);
                        self.used[c] = false;
                    }
                }
            }
        }
        let mut search = Search {
            rows,
            cols,
            cost,
            used: vec![false; cols],
            best: (0, 0.0),
        };
        search.go(0, 0, 0.0);
        search.best
    }

    fn check(rows: usize, cols: usize, cost: &[f64], out: &[Option<usize>]) -> (usize, f64) {
        let mut used = vec![false; cols];
        let mut k = 0;
        let mut sum = 0.0;
        for (r, c) in out[..rows].iter().enumerate() {
            if let Some(c) = *c {
                assert!(c < cols);
                assert!(!used[c], "column {c} used twice");
                used[c] = true;
                let x = cost[r * cols + c];
                assert!(x.is_finite(), "paired through a forbidden entry");
                k += 1;
                sum += x;
            }
        }
        (k, sum)
    }

    #[test]
    fn matches_brute_force_on_random_matrices() {
        let mut rng = Lcg(0x5eed);
        let mut solver = Assignment::new();
        let mut out: Vec<Option<usize>> = vec![None; 8];
        for case in 0..3000 {
            let rows = rng.below(7) as usize;
            let cols = rng.below(7) as usize;
            let forbid = rng.below(4); // 0%, 25%, 50%, 75%
            let negative = case % 3 == 0;
            let integer = case % 5 == 0; // many exact ties
            let cost: Vec<f64> = (0..rows * cols)
                .map(|_| {
                    if rng.below(4) < forbid {
                        if rng.below(8) == 0 {
                            f64::NAN
                        } else {
                            f64::INFINITY
                        }
                    } else if integer {
                        rng.below(4) as f64
                    } else if negative {
                        rng.unit() * 20.0 - 10.0
                    } else {
                        rng.unit() * 13.8
                    }
                })
                .collect();
            let k = solver.solve(rows, cols, &cost, &mut out);
            let got = check(rows, cols, &cost, &out);
            let want = brute(rows, cols, &cost);
            assert_eq!(k, got.0);
            assert_eq!(got.0, want.0, "pairs, case {case}: {rows}x{cols} {cost:?}");
            assert!(
                (got.1 - want.1).abs() <= 1e-9 * (1.0 + want.1.abs()),
                "cost, case {case}: got {got:?} want {want:?} {rows}x{cols} {cost:?}"
            );
        }
    }

    #[test]
    fn empty_and_all_forbidden() {
        let mut solver = Assignment::new();
        let mut out: Vec<Option<u16>> = vec![Some(9); 4];
        assert_eq!(solver.solve(0, 0, &[], &mut out), 0);
        assert_eq!(solver.solve(0, 5, &[], &mut out), 0);
        assert_eq!(out, vec![Some(9); 4], "rows beyond `rows` untouched");
        assert_eq!(solver.solve(3, 0, &[], &mut out), 0);
        assert_eq!(out[..3], [None, None, None]);
        let inf = [f64::INFINITY; 6];
        out.fill(Some(1));
        assert_eq!(solver.solve(2, 3, &inf, &mut out), 0);
        assert_eq!(out[..2], [None, None]);
    }

    #[test]
    fn prefers_more_pairs_over_lower_cost() {
        // Pairing row 0 with column 0 is cheapest but leaves row 1 alone.
        let inf = f64::INFINITY;
        let cost = [0.0, 100.0, 1.0, inf];
        let mut out: [Option<usize>; 2] = [None; 2];
        assert_eq!(Assignment::new().solve(2, 2, &cost, &mut out), 2);
        assert_eq!(out, [Some(1), Some(0)]);
    }

    #[test]
    fn ties_break_by_index_and_repeat() {
        let mut solver = Assignment::new();
        let cost = [1.0; 12];
        let mut out: [Option<u32>; 3] = [None; 3];
        solver.solve(3, 4, &cost, &mut out);
        assert_eq!(out, [Some(0), Some(1), Some(2)]);
        let mut out_t: [Option<u32>; 4] = [None; 4];
        solver.solve(4, 3, &cost, &mut out_t);
        assert_eq!(out_t, [Some(0), Some(1), Some(2), None]);
        let again = {
            let mut o: [Option<u32>; 4] = [None; 4];
            Assignment::new().solve(4, 3, &cost, &mut o);
            o
        };
        assert_eq!(out_t, again);
    }

    #[test]
    fn extreme_costs_do_not_overflow() {
        let cost = [f64::MAX, -f64::MAX, 0.0, f64::MAX];
        let mut out: [Option<u8>; 2] = [None; 2];
        assert_eq!(Assignment::new().solve(2, 2, &cost, &mut out), 2);
        assert_eq!(out, [Some(1), Some(0)]);
    }

    #[test]
    fn buffers_stop_growing() {
        let mut rng = Lcg(7);
        let mut solver = Assignment::with_capacity(6, 6);
        let cost: Vec<f64> = (0..36).map(|_| rng.unit()).collect();
        let mut out: [Option<u16>; 6] = [None; 6];
        solver.solve(6, 6, &cost, &mut out);
        let before = (
            solver.cost.as_ptr(),
            solver.u.as_ptr(),
            solver.columns.as_ptr(),
        );
        for _ in 0..10 {
            solver.solve(6, 6, &cost, &mut out);
            solver.solve(3, 5, &cost, &mut out);
        }
        assert_eq!(
            before,
            (
                solver.cost.as_ptr(),
                solver.u.as_ptr(),
                solver.columns.as_ptr()
            )
        );
    }
}
