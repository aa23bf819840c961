//! Minimum-cost assignment (the Hungarian method with potentials).

/// The cheapest assignment of `rows.min(cols)` pairs in a row-major
/// `rows x cols` matrix of finite costs, as `(row, col)` sorted by row.
pub(crate) fn min_cost_assignment(costs: &[f64], rows: usize, cols: usize) -> Vec<(usize, usize)> {
    debug_assert_eq!(costs.len(), rows * cols);
    if rows == 0 || cols == 0 {
        return Vec::new();
    }
    if rows > cols {
        let transposed: Vec<f64> = (0..cols * rows)
            .map(|k| costs[(k % rows) * cols + k / rows])
            .collect();
        let mut pairs: Vec<(usize, usize)> = min_cost_assignment(&transposed, cols, rows)
            .into_iter()
            .map(|(c, r)| (r, c))
            .collect();
        pairs.sort_unstable();
        return pairs;
    }
    // Shortest augmenting paths with row potentials `u` and column
    // potentials `v`; index 0 is the virtual start column (1-based below).
    let (n, m) = (rows, cols);
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; m + 1];
    let mut row_of_col = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        row_of_col[0] = i;
        let mut j0 = 0;
        let mut min_slack = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = row_of_col[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=m {
                if used[j] {
                    continue;
                }
                let slack = costs[(i0 - 1) * m + (j - 1)] - u[i0] - v[j];
                if slack < min_slack[j] {
                    min_slack[j] = slack;
                    way[j] = j0;
                }
                if min_slack[j] < delta {
                    delta = min_slack[j];
                    j1 = j;
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[row_of_col[j]] += delta;
                    v[j] -= delta;
                } else {
                    min_slack[j] -= delta;
                }
            }
            j0 = j1;
            if row_of_col[j0] == 0 {
                break;
            }
        }
        while j0 != 0 {
            let j1 = way[j0];
            row_of_col[j0] = row_of_col[j1];
            j0 = j1;
        }
    }
    let mut pairs: Vec<(usize, usize)> = (1..=m)
        .filter(|&j| row_of_col[j] != 0)
        .map(|j| (row_of_col[j] - 1, j - 1))
        .collect();
    pairs.sort_unstable();
    pairs
}

/// The assignment `motmetrics` makes between a frame's objects and
/// hypotheses: as many pairs as possible among the finite entries
/// (non-finite = forbidden), and of those the cheapest. Like its
/// `add_expensive_edges`, forbidden entries get a cost so large that one
/// of them outweighs any difference among allowed ones, and the pairs that
/// land on them are dropped.
pub(crate) fn gated_assignment(costs: &[f64], rows: usize, cols: usize) -> Vec<(usize, usize)> {
    let largest = costs
        .iter()
        .filter(|c| c.is_finite())
        .fold(None, |acc: Option<f64>, c| {
            Some(acc.map_or(c.abs(), |a| a.max(c.abs())))
        });
    let Some(largest) = largest else {
        return Vec::new();
    };
    let c = largest + 1.0;
    let forbidden = 2.0 * rows.min(cols) as f64 * c + 1.0;
    let finite: Vec<f64> = costs
        .iter()
        .map(|&x| if x.is_finite() { x } else { forbidden })
        .collect();
    min_cost_assignment(&finite, rows, cols)
        .into_iter()
        .filter(|&(r, c)| costs[r * cols + c].is_finite())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;
    use rand_pcg::Pcg64Mcg;

    /// Every partial matching of allowed entries, by brute force: the
    /// largest number of pairs, then the least cost.
    fn brute_force(costs: &[f64], rows: usize, cols: usize) -> (usize, f64) {
        fn go(
            costs: &[f64],
            rows: usize,
            cols: usize,
            r: usize,
            used: &mut Vec<bool>,
        ) -> (usize, f64) {
            if r == rows {
                return (0, 0.0);
            }
            let mut best = go(costs, rows, cols, r + 1, used);
            for c in 0..cols {
                let x = costs[r * cols + c];
                if used[c] || !x.is_finite() {
                    continue;
                }
                used[c] = true;
                let (n, cost) = go(costs, rows, cols, r + 1, used);
                used[c] = false;
                let cand = (n + 1, cost + x);
                if cand.0 > best.0 || (cand.0 == best.0 && cand.1 < best.1) {
                    best = cand;
                }
            }
            best
        }
        go(costs, rows, cols, 0, &mut vec![false; cols])
    }

    #[test]
    fn a_square_matrix_gets_its_cheapest_permutation() {
        let costs = [4.0, 1.0, 3.0, 2.0, 0.0, 5.0, 3.0, 2.0, 2.0];
        assert_eq!(
            min_cost_assignment(&costs, 3, 3),
            vec![(0, 1), (1, 0), (2, 2)]
        );
    }

    #[test]
    fn rectangular_matrices_assign_the_shorter_side_fully() {
        // 2 rows x 3 columns and its transpose.
        let wide = [5.0, 1.0, 9.0, 1.0, 2.0, 9.0];
        assert_eq!(min_cost_assignment(&wide, 2, 3), vec![(0, 1), (1, 0)]);
        let tall = [5.0, 1.0, 1.0, 2.0, 9.0, 9.0];
        assert_eq!(min_cost_assignment(&tall, 3, 2), vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn gating_prefers_more_pairs_over_a_cheaper_single_pair() {
        // Taking (0,0) alone costs 0.1, but (0,1)+(1,0) pairs both.
        let nan = f64::NAN;
        let costs = [0.1, 1.9, 1.9, nan];
        assert_eq!(gated_assignment(&costs, 2, 2), vec![(0, 1), (1, 0)]);
        assert!(gated_assignment(&[nan, nan], 1, 2).is_empty());
        assert!(gated_assignment(&[], 0, 3).is_empty());
    }

    #[test]
    fn gated_assignment_agrees_with_brute_force() {
        let mut rng = Pcg64Mcg::new(0x5eed);
        for _ in 0..2000 {
            let rows = rng.random_range(0..6usize);
            let cols = rng.random_range(0..6usize);
            let costs: Vec<f64> = (0..rows * cols)
                .map(|_| {
                    if rng.random::<f64>() < 0.4 {
                        f64::NAN
                    } else {
                        rng.random_range(0.0..2.0)
                    }
                })
                .collect();
            let pairs = gated_assignment(&costs, rows, cols);
            let (n, cost) = brute_force(&costs, rows, cols);
            assert_eq!(pairs.len(), n, "{rows}x{cols} {costs:?}");
            let ours: f64 = pairs.iter().map(|&(r, c)| costs[r * cols + c]).sum();
            assert!((ours - cost).abs() < 1e-9, "{ours} vs {cost} in {costs:?}");
            let mut seen_rows: Vec<usize> = pairs.iter().map(|p| p.0).collect();
            let mut seen_cols: Vec<usize> = pairs.iter().map(|p| p.1).collect();
            seen_rows.dedup();
            seen_cols.sort_unstable();
            seen_cols.dedup();
            assert_eq!((seen_rows.len(), seen_cols.len()), (n, n));
        }
    }
}
