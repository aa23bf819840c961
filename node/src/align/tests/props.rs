//! Property tests: random streams with reordering, duplicates, backwards
//! jumps, wild stamps and unknown sensors never break the invariants, and
//! sane data afterwards is aligned again.

use std::collections::HashSet;

use proptest::prelude::*;

use super::*;
use crate::align::{ApproximateTimeConfig, TriggerConfig};

/// How a sensor's next stamp relates to its previous one.
#[derive(Debug, Clone, Copy)]
enum Step {
    Forward(i64),
    Duplicate,
    Back(i64),
    LoopBack,
    FarFuture,
    Extreme(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (1..80 * MS).prop_map(Step::Forward),
        1 => Just(Step::Duplicate),
        1 => (1..200 * MS).prop_map(Step::Back),
        1 => Just(Step::LoopBack),
        1 => Just(Step::FarFuture),
        1 => any::<bool>().prop_map(Step::Extreme),
    ]
}

fn policy(sensors: usize) -> impl Strategy<Value = PolicyConfig> {
    prop_oneof![
        (
            0..sensors as u16,
            0..30 * MS,
            0..30 * MS,
            1..6usize,
            1..4usize
        )
            .prop_map(|(primary, skew, wait, buffer_len, max_pending)| {
                PolicyConfig::Trigger(TriggerConfig {
                    primary,
                    max_skew_ns: skew,
                    max_wait_ns: wait,
                    buffer_len,
                    max_pending,
                })
            }),
        (2..6usize, proptest::option::of(0..100 * MS), 0.0..1.0f64).prop_map(
            |(queue_size, max_interval_ns, age_penalty)| {
                PolicyConfig::ApproximateTime(ApproximateTimeConfig {
                    queue_size,
                    max_interval_ns,
                    age_penalty,
                    inter_message_lower_bound_ns: Vec::new(),
                })
            }
        ),
    ]
}

fn case() -> impl Strategy<Value = (usize, PolicyConfig, Vec<(u16, Step, i64)>)> {
    (1..6usize).prop_flat_map(|n| {
        (
            Just(n),
            policy(n),
            // Sensor n is unknown; arrivals advance by up to 40 ms.
            prop::collection::vec((0..=n as u16, step(), 0..40 * MS), 0..300),
        )
    })
}

/// Checks every invariant on the sets `poll` hands out.
struct Checker {
    seen: HashSet<u32>,
    last_trigger: Option<i64>,
    trigger_policy: bool,
    sets: usize,
    complete_sets: usize,
}

impl Checker {
    /// Pushes a message; a reset starts a new epoch, in which trigger
    /// stamps start over.
    fn push(&mut self, a: &mut Aligner<u32>, message: Stamped<u32>) {
        let resets = a.counters().resets;
        a.push(message);
        if a.counters().resets != resets {
            self.last_trigger = None;
        }
    }

    fn drain(&mut self, a: &mut Aligner<u32>, now: i64) {
        let mut set = a.new_set();
        while a.poll(now, &mut set) {
            self.sets += 1;
            self.complete_sets += usize::from(!set.is_degraded());
            assert_eq!(set.slots().len(), a.sensor_count());
            for (i, slot) in set.slots().iter().enumerate() {
                assert_eq!(set.missing_sensors() >> i & 1 == 1, slot.is_none());
                if let Some(m) = slot {
                    assert_eq!(usize::from(m.sensor), i, "one message per sensor slot");
                    assert!(self.seen.insert(m.payload), "message emitted twice");
                }
            }
            if self.trigger_policy {
                let t = set.trigger_stamp_ns();
                if let Some(last) = self.last_trigger {
                    assert!(t > last, "trigger {t} after {last}");
                }
                self.last_trigger = Some(t);
            }
        }
    }
}

fn check_accounting(a: &Aligner<u32>) {
    let c = a.counters();
    assert!(a.buffered() <= a.buffer_bound(), "{a:?}");
    assert_eq!(
        c.accepted,
        c.messages_emitted + c.discarded + c.overflowed + a.buffered() as u64,
        "{c:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_streams_keep_the_invariants_and_recover(
        (n, policy, ops) in case(),
        base in -1_000 * S..1_000 * S,
    ) {
        let trigger_policy = matches!(policy, PolicyConfig::Trigger(_));
        let mut a = aligner(n, policy);
        let mut checker = Checker {
            seen: HashSet::new(),
            last_trigger: None,
            trigger_policy,
            sets: 0,
            complete_sets: 0,
        };
        let mut last = vec![base; n + 1];
        let mut arrival = 0;
        let mut id = 0;
        for (sensor, step, dt) in ops {
            let s = usize::from(sensor);
            let stamp = match step {
                Step::Forward(d) => last[s].saturating_add(d),
                Step::Duplicate => last[s],
                Step::Back(d) => last[s].saturating_sub(d),
                Step::LoopBack => last[s].saturating_sub(60 * S),
                Step::FarFuture => last[s].saturating_add(10 * 3_600 * S),
                Step::Extreme(high) => if high { i64::MAX } else { i64::MIN },
            };
            if !matches!(step, Step::FarFuture | Step::Extreme(_)) {
                last[s] = stamp;
            }
            arrival += dt;
            checker.push(&mut a, Stamped { sensor, stamp_ns: stamp, arrival_ns: arrival, payload: id });
            id += 1;
            checker.drain(&mut a, arrival);
            check_accounting(&a);
        }

        // Sane data from a fresh time base: every sensor at 20 Hz, the
        // primary last. After at most one reset (or adopting a jump
        // forward), sets flow again.
        let fresh = base - 100 * S;
        let before = checker.complete_sets;
        let rounds = 40;
        for r in 0..rounds {
            let stamp = fresh + r * 50 * MS;
            arrival += 50 * MS;
            for sensor in (0..n as u16).rev() {
                checker.push(&mut a, Stamped { sensor, stamp_ns: stamp, arrival_ns: arrival, payload: id });
                id += 1;
            }
            checker.drain(&mut a, arrival);
            check_accounting(&a);
        }
        let recovered = checker.complete_sets - before;
        prop_assert!(recovered >= rounds as usize - 20, "{recovered} complete sets of {rounds}: {:?}", a);
    }
}
