//! Where zenoh's subscriber callbacks hand messages to the pipeline: one
//! bounded lock-free queue per sensor. A full queue drops its oldest
//! message and counts it, so a callback never blocks and never allocates
//! beyond what zenoh already did for the sample.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender};
use crossbeam_queue::ArrayQueue;
use zenoh::bytes::ZBytes;

use super::stamp::{STAMP_PREFIX_LEN, StampError, header_stamp_ns};
use crate::align::Stamped;

/// A received message: sensor, header stamp, arrival, and zenoh's buffer
/// (reference-counted; the bytes are not copied).
pub type Message = Stamped<ZBytes>;

/// What [`Intake::offer`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Queued.
    Queued,
    /// Queued; the queue was full and its oldest message was dropped.
    QueuedDroppingOldest,
    /// Dropped: the stamp could not be read.
    Malformed(StampError),
    /// Dropped: the sensor index is not configured.
    UnknownSensor,
    /// Dropped: intake has stopped.
    Closed,
}

/// Counters of one sensor; everything only grows.
#[derive(Debug)]
struct Counters {
    received: AtomicU64,
    malformed: AtomicU64,
    dropped: AtomicU64,
    /// `i64::MIN` until the first message.
    last_arrival_ns: AtomicI64,
}

/// One sensor's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SensorCounts {
    /// Messages received from zenoh, malformed ones included.
    pub received: u64,
    /// Messages whose header stamp could not be read (not CDR, too short):
    /// dropped on arrival.
    pub malformed: u64,
    /// Messages dropped because the sensor's queue was full (the oldest
    /// goes).
    pub dropped_overflow: u64,
    /// Arrival of the latest message (pipeline clock, ns), if any.
    pub last_arrival_ns: Option<i64>,
}

/// The per-sensor queues and counters, shared by the callbacks (producers)
/// and the aligner thread (the one consumer).
#[derive(Debug)]
pub struct Intake {
    queues: Vec<ArrayQueue<Message>>,
    counters: Vec<Counters>,
    /// Wakes the aligner; capacity 1, so ringing never blocks.
    doorbell: Sender<()>,
    open: AtomicBool,
}

impl Intake {
    /// Queues of `queue_len` messages for `sensors` sensors, and the
    /// receiving end of the doorbell rung on every queued message.
    pub fn new(sensors: usize, queue_len: usize) -> (Intake, Receiver<()>) {
        let (doorbell, rings) = crossbeam_channel::bounded(1);
        let intake = Intake {
            queues: (0..sensors)
                .map(|_| ArrayQueue::new(queue_len.max(1)))
                .collect(),
            counters: (0..sensors)
                .map(|_| Counters {
                    received: AtomicU64::new(0),
                    malformed: AtomicU64::new(0),
                    dropped: AtomicU64::new(0),
                    last_arrival_ns: AtomicI64::new(i64::MIN),
                })
                .collect(),
            doorbell,
            open: AtomicBool::new(true),
        };
        (intake, rings)
    }

    /// Takes one message of `sensor` that arrived at `arrival_ns`: reads
    /// its header stamp and queues it, dropping the queue's oldest message
    /// if it is full. Never blocks.
    pub fn offer(&self, sensor: u16, arrival_ns: i64, payload: ZBytes) -> Offer {
        if !self.open.load(Ordering::Acquire) {
            return Offer::Closed;
        }
        let index = usize::from(sensor);
        let (Some(queue), Some(counters)) = (self.queues.get(index), self.counters.get(index))
        else {
            return Offer::UnknownSensor;
        };
        counters.received.fetch_add(1, Ordering::Relaxed);
        counters
            .last_arrival_ns
            .store(arrival_ns, Ordering::Relaxed);
        let stamp_ns = match read_stamp(&payload) {
            Ok(stamp) => stamp,
            Err(e) => {
                counters.malformed.fetch_add(1, Ordering::Relaxed);
                return Offer::Malformed(e);
            }
        };
        let message = Stamped {
            sensor,
            stamp_ns,
            arrival_ns,
            payload,
        };
        let offer = match queue.force_push(message) {
            None => Offer::Queued,
            Some(_oldest) => {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                Offer::QueuedDroppingOldest
            }
        };
        // Full means a ring is already pending: the aligner will look.
        let _ = self.doorbell.try_send(());
        offer
    }

    /// Moves every queued message into `out` (at most one queue's
    /// capacity per sensor, so `out` never grows past
    /// [`Intake::capacity`]).
    pub fn drain_into(&self, out: &mut Vec<Message>) {
        for queue in &self.queues {
            for _ in 0..queue.capacity() {
                match queue.pop() {
                    Some(message) => out.push(message),
                    None => break,
                }
            }
        }
    }

    /// Messages all queues can hold together.
    pub fn capacity(&self) -> usize {
        self.queues.iter().map(ArrayQueue::capacity).sum()
    }

    /// Stops taking messages; later offers are [`Offer::Closed`]. Rings the
    /// doorbell so the aligner notices.
    pub fn close(&self) {
        self.open.store(false, Ordering::Release);
        let _ = self.doorbell.try_send(());
    }

    /// Rings the doorbell without a message.
    pub fn wake(&self) {
        let _ = self.doorbell.try_send(());
    }

    /// The counters of every sensor, by index.
    pub fn counts(&self) -> impl Iterator<Item = SensorCounts> + '_ {
        self.counters.iter().map(|c| {
            let last = c.last_arrival_ns.load(Ordering::Relaxed);
            SensorCounts {
                received: c.received.load(Ordering::Relaxed),
                malformed: c.malformed.load(Ordering::Relaxed),
                dropped_overflow: c.dropped.load(Ordering::Relaxed),
                last_arrival_ns: (last != i64::MIN).then_some(last),
            }
        })
    }
}

/// The header stamp from the payload's first bytes, gathered across
/// zenoh's slices without allocating.
fn read_stamp(payload: &ZBytes) -> Result<i64, StampError> {
    let mut head = [0u8; STAMP_PREFIX_LEN];
    let mut filled = 0;
    for slice in payload.slices() {
        let take = (STAMP_PREFIX_LEN - filled).min(slice.len());
        head[filled..filled + take].copy_from_slice(&slice[..take]);
        filled += take;
        if filled == STAMP_PREFIX_LEN {
            break;
        }
    }
    header_stamp_ns(&head[..filled], payload.len())
}

#[cfg(test)]
mod tests {
    use fusion_msgs::builtin_interfaces::Time;
    use fusion_msgs::std_msgs::Header;

    use super::*;

    fn message(sec: i32) -> ZBytes {
        let header = Header {
            stamp: Time { sec, nanosec: 0 },
            frame_id: "x".into(),
        };
        ZBytes::from(fusion_msgs::encode(&header).unwrap())
    }

    #[test]
    fn a_full_queue_drops_its_oldest_and_counts_it() {
        let (intake, rings) = Intake::new(2, 3);
        for sec in 0..5 {
            intake.offer(1, i64::from(sec), message(sec));
        }
        assert_eq!(intake.offer(1, 5, message(5)), Offer::QueuedDroppingOldest);
        let counts: Vec<_> = intake.counts().collect();
        assert_eq!(counts[1].received, 6);
        assert_eq!(counts[1].dropped_overflow, 3);
        assert_eq!(counts[1].last_arrival_ns, Some(5));
        assert_eq!(counts[0], SensorCounts::default());
        let mut out = Vec::with_capacity(intake.capacity());
        intake.drain_into(&mut out);
        let stamps: Vec<i64> = out.iter().map(|m| m.stamp_ns / 1_000_000_000).collect();
        assert_eq!(stamps, [3, 4, 5], "the newest survive");
        assert!(rings.try_recv().is_ok());
    }

    #[test]
    fn garbage_is_counted_and_dropped() {
        let (intake, _rings) = Intake::new(1, 4);
        let offer = intake.offer(0, 1, ZBytes::from(vec![0xde, 0xad, 0xbe, 0xef]));
        assert_eq!(offer, Offer::Malformed(StampError::TooShort(4)));
        assert!(matches!(
            intake.offer(0, 2, ZBytes::from(vec![7u8; 64])),
            Offer::Malformed(StampError::Encapsulation(_))
        ));
        assert_eq!(intake.offer(9, 3, message(1)), Offer::UnknownSensor);
        let counts: Vec<_> = intake.counts().collect();
        assert_eq!((counts[0].received, counts[0].malformed), (2, 2));
        let mut out = Vec::new();
        intake.drain_into(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn a_closed_intake_takes_nothing() {
        let (intake, _rings) = Intake::new(1, 4);
        intake.close();
        assert_eq!(intake.offer(0, 1, message(1)), Offer::Closed);
        assert_eq!(intake.counts().next().unwrap().received, 0);
    }
}
