//! The frame-by-frame event rules of `motmetrics.MOTAccumulator.update`
//! (py-motmetrics 1.4.0, `max_switch_time` unbounded), streaming: the only
//! state kept is per id and per (truth id, hypothesis id) pair.

use std::collections::BTreeMap;

use crate::assignment::{gated_assignment, min_cost_assignment};
use crate::frame::ObjectState;
use crate::report::Metrics;

/// Event counts and sums for one set of frames (all classes, or one).
#[derive(Debug, Default, Clone)]
pub(crate) struct Accumulator {
    truth_index: BTreeMap<[u8; 16], usize>,
    hyp_index: BTreeMap<[u8; 16], usize>,
    truth: Vec<TruthTrack>,
    hyp: Vec<HypTrack>,
    /// Frames in which each (truth, hypothesis) pair was within the
    /// threshold: the count matrix of the IDF1 assignment.
    pair_frames: BTreeMap<(usize, usize), u64>,
    frames: u64,
    matches: u64,
    switches: u64,
    transfers: u64,
    ascends: u64,
    migrates: u64,
    false_positives: u64,
    misses: u64,
    fragmentations: u64,
    distance_sum: f64,
    distance_sq_sum: f64,
    velocity_sq_sum: f64,
    velocity_pairs: u64,
}

#[derive(Debug, Default, Clone)]
struct TruthTrack {
    frames: u64,
    /// Frames with a MATCH or SWITCH.
    tracked: u64,
    /// motmetrics' `m[o]`: the hypothesis last matched to this object.
    last_hyp: Option<usize>,
    /// motmetrics' `o in last_match`.
    ever_matched: bool,
    ever_tracked: bool,
    /// Missed since it was last tracked (a fragment if tracked again).
    in_gap: bool,
}

#[derive(Debug, Default, Clone)]
struct HypTrack {
    frames: u64,
    /// motmetrics' `res_m[h]`: set by the assignment step only.
    last_truth: Option<usize>,
    /// motmetrics' `h in hypHistory`.
    ever_matched: bool,
}

fn intern(index: &mut BTreeMap<[u8; 16], usize>, id: [u8; 16], len: usize) -> usize {
    *index.entry(id).or_insert(len)
}

impl Accumulator {
    /// Counts one frame. Ids must be unique within each side and positions
    /// finite (the caller filters); `threshold_m` gates the pairs.
    pub(crate) fn update(&mut self, truth: &[ObjectState], hyp: &[ObjectState], threshold_m: f64) {
        self.frames += 1;
        let oids: Vec<usize> = truth
            .iter()
            .map(|o| {
                let i = intern(&mut self.truth_index, o.id, self.truth.len());
                if i == self.truth.len() {
                    self.truth.push(TruthTrack::default());
                }
                self.truth[i].frames += 1;
                i
            })
            .collect();
        let hids: Vec<usize> = hyp
            .iter()
            .map(|h| {
                let j = intern(&mut self.hyp_index, h.id, self.hyp.len());
                if j == self.hyp.len() {
                    self.hyp.push(HypTrack::default());
                }
                self.hyp[j].frames += 1;
                j
            })
            .collect();

        let (rows, cols) = (truth.len(), hyp.len());
        let mut dist = vec![f64::NAN; rows * cols];
        for (r, o) in truth.iter().enumerate() {
            for (c, h) in hyp.iter().enumerate() {
                let (dx, dy) = (h.position[0] - o.position[0], h.position[1] - o.position[1]);
                let d = (dx * dx + dy * dy).sqrt();
                if d <= threshold_m {
                    dist[r * cols + c] = d;
                    *self.pair_frames.entry((oids[r], hids[c])).or_default() += 1;
                }
            }
        }

        let mut row_done = vec![false; rows];
        let mut col_done = vec![false; cols];
        let mut matched: Vec<(usize, usize)> = Vec::new();
        // 1. Keep last frame's pairs that are still within the threshold,
        // in the order the objects come.
        for r in 0..rows {
            let Some(prev) = self.truth[oids[r]].last_hyp else {
                continue;
            };
            let Some(c) = (0..cols).find(|&c| !col_done[c] && hids[c] == prev) else {
                continue;
            };
            if dist[r * cols + c].is_finite() {
                row_done[r] = true;
                col_done[c] = true;
                self.matches += 1;
                self.truth[oids[r]].ever_matched = true;
                self.hyp[hids[c]].ever_matched = true;
                matched.push((r, c));
            }
        }
        // 2. The most pairs, then the least total distance, among the rest.
        let free_rows: Vec<usize> = (0..rows).filter(|&r| !row_done[r]).collect();
        let free_cols: Vec<usize> = (0..cols).filter(|&c| !col_done[c]).collect();
        let sub: Vec<f64> = free_rows
            .iter()
            .flat_map(|&r| free_cols.iter().map(move |&c| (r, c)))
            .map(|(r, c)| dist[r * cols + c])
            .collect();
        for (a, b) in gated_assignment(&sub, free_rows.len(), free_cols.len()) {
            let (r, c) = (free_rows[a], free_cols[b]);
            let (o, h) = (oids[r], hids[c]);
            let switch = self.truth[o].last_hyp.is_some_and(|prev| prev != h);
            if switch {
                self.switches += 1;
                if !self.hyp[h].ever_matched {
                    self.ascends += 1;
                }
            } else {
                self.matches += 1;
            }
            if self.hyp[h].last_truth.is_some_and(|prev| prev != o) {
                self.transfers += 1;
                if !self.truth[o].ever_matched {
                    self.migrates += 1;
                }
            }
            self.hyp[h].ever_matched = true;
            self.hyp[h].last_truth = Some(o);
            self.truth[o].ever_matched = true;
            self.truth[o].last_hyp = Some(h);
            row_done[r] = true;
            col_done[c] = true;
            matched.push((r, c));
        }
        // 3. and 4. The rest are misses and false positives.
        self.misses += row_done.iter().filter(|d| !**d).count() as u64;
        self.false_positives += col_done.iter().filter(|d| !**d).count() as u64;

        for &(r, c) in &matched {
            let d = dist[r * cols + c];
            self.distance_sum += d;
            self.distance_sq_sum += d * d;
            let (vt, vh) = (truth[r].velocity, hyp[c].velocity);
            let (ex, ey) = (vh[0] - vt[0], vh[1] - vt[1]);
            let e2 = ex * ex + ey * ey;
            if e2.is_finite() {
                self.velocity_sq_sum += e2;
                self.velocity_pairs += 1;
            }
        }
        for (r, &o) in oids.iter().enumerate() {
            let track = &mut self.truth[o];
            if row_done[r] {
                track.tracked += 1;
                if track.in_gap {
                    self.fragmentations += 1;
                    track.in_gap = false;
                }
                track.ever_tracked = true;
            } else if track.ever_tracked {
                track.in_gap = true;
            }
        }
    }

    /// The number of frames counted.
    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }

    /// The metrics of everything counted so far, over `num_frames` frames.
    pub(crate) fn metrics(&self, num_frames: u64) -> Metrics {
        let num_objects: u64 = self.truth.iter().map(|t| t.frames).sum();
        let num_predictions: u64 = self.hyp.iter().map(|h| h.frames).sum();
        let num_detections = self.matches + self.switches;
        let idtp = self.id_true_positives();
        let (mut mostly_tracked, mut partially_tracked, mut mostly_lost) = (0, 0, 0);
        for t in &self.truth {
            // motmetrics' track_ratios, compared as the same f64.
            let ratio = t.tracked as f64 / t.frames as f64;
            if ratio >= 0.8 {
                mostly_tracked += 1;
            } else if ratio >= 0.2 {
                partially_tracked += 1;
            } else {
                mostly_lost += 1;
            }
        }
        let ratio = |num: f64, den: u64| (den > 0).then(|| num / den as f64);
        let rmse = |sum: f64, n: u64| (n > 0).then(|| (sum / n as f64).sqrt());
        Metrics {
            num_frames,
            num_objects,
            num_predictions,
            num_unique_objects: self.truth.len() as u64,
            num_unique_hypotheses: self.hyp.len() as u64,
            num_matches: self.matches,
            num_switches: self.switches,
            num_transfer: self.transfers,
            num_ascend: self.ascends,
            num_migrate: self.migrates,
            num_false_positives: self.false_positives,
            num_misses: self.misses,
            num_detections,
            num_fragmentations: self.fragmentations,
            mostly_tracked,
            partially_tracked,
            mostly_lost,
            mota: ratio(
                (self.misses + self.switches + self.false_positives) as f64,
                num_objects,
            )
            .map(|e| 1.0 - e),
            motp: ratio(self.distance_sum, num_detections),
            precision: ratio(num_detections as f64, num_detections + self.false_positives),
            recall: ratio(num_detections as f64, num_objects),
            idtp,
            idfp: num_predictions - idtp,
            idfn: num_objects - idtp,
            idp: ratio(idtp as f64, num_predictions),
            idr: ratio(idtp as f64, num_objects),
            idf1: ratio(2.0 * idtp as f64, num_objects + num_predictions),
            position_rmse_m: rmse(self.distance_sq_sum, num_detections),
            velocity_rmse_mps: rmse(self.velocity_sq_sum, self.velocity_pairs),
            velocity_pairs: self.velocity_pairs,
        }
    }

    /// IDTP: the most frame co-occurrences (within the threshold) that a
    /// one-to-one map of truth ids to hypothesis ids can collect. This is
    /// what motmetrics' `id_global_assignment` optimises: its cost is
    /// `num_objects + num_predictions - 2 * IDTP`. Solved per connected
    /// component of the pair graph, which keeps the matrices small.
    fn id_true_positives(&self) -> u64 {
        let n = self.truth.len();
        let mut parent: Vec<usize> = (0..n + self.hyp.len()).collect();
        fn root(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        for &(o, h) in self.pair_frames.keys() {
            let (a, b) = (root(&mut parent, o), root(&mut parent, n + h));
            parent[a] = b;
        }
        let mut components: BTreeMap<usize, Vec<(usize, usize, u64)>> = BTreeMap::new();
        for (&(o, h), &count) in &self.pair_frames {
            components
                .entry(root(&mut parent, o))
                .or_default()
                .push((o, h, count));
        }
        let mut idtp = 0;
        for edges in components.values() {
            let mut rows: Vec<usize> = edges.iter().map(|e| e.0).collect();
            let mut cols: Vec<usize> = edges.iter().map(|e| e.1).collect();
            rows.sort_unstable();
            rows.dedup();
            cols.sort_unstable();
            cols.dedup();
            let mut weight = vec![0u64; rows.len() * cols.len()];
            for &(o, h, count) in edges {
                let r = rows.binary_search(&o).unwrap_or_default();
                let c = cols.binary_search(&h).unwrap_or_default();
                weight[r * cols.len() + c] = count;
            }
            // Counts stay far below 2^53, so the f64 costs are exact.
            let costs: Vec<f64> = weight.iter().map(|&w| -(w as f64)).collect();
            idtp += min_cost_assignment(&costs, rows.len(), cols.len())
                .into_iter()
                .map(|(r, c)| weight[r * cols.len() + c])
                .sum::<u64>();
        }
        idtp
    }
}
