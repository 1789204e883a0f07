//! The frame-rate cap: at most one encode per interval, and always the newest frame.
//!
//! A frame that arrives before its slot waits as "pending"; a newer frame replaces it (counted
//! as merged) — the screen's latest state is what gets encoded, with the time it really
//! appeared. When nothing changes, nothing is pending and nothing is encoded: an idle screen
//! costs no encoder work at all.

use std::time::{Duration, Instant};

pub struct Pacer<T> {
    interval: Duration,
    pending: Option<T>,
    next_slot: Option<Instant>,
    merged: u64,
}

impl<T> Pacer<T> {
    /// `fps` encodes a second at most; `f64::INFINITY` means no cap (every frame is encoded).
    /// Values ≤ 0 or NaN are treated as 1.
    pub fn new(fps: f64) -> Pacer<T> {
        let interval = if fps == f64::INFINITY {
            Duration::ZERO
        } else if fps.is_finite() && fps > 0.0 {
            Duration::from_secs_f64(1.0 / fps)
        } else {
            Duration::from_secs(1)
        };
        Pacer {
            interval,
            pending: None,
            next_slot: None,
            merged: 0,
        }
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// A new frame: it becomes the pending one.
    pub fn offer(&mut self, item: T) {
        if self.pending.replace(item).is_some() {
            self.merged += 1;
        }
    }

    /// When the pending frame may be encoded (None: nothing pending).
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.as_ref()?;
        Some(self.next_slot.unwrap_or_else(Instant::now))
    }

    /// The pending frame if its slot has come at `now`; the next slot is then one interval on.
    pub fn take_due(&mut self, now: Instant) -> Option<T> {
        if self.next_slot.is_some_and(|slot| now < slot) {
            return None;
        }
        let item = self.pending.take()?;
        self.next_slot = Some(now + self.interval);
        Some(item)
    }

    /// The pending frame regardless of its slot (at the end of the recording).
    pub fn take_remaining(&mut self) -> Option<T> {
        self.pending.take()
    }

    /// Frames replaced by a newer one before their slot came.
    pub fn merged(&self) -> u64 {
        self.merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_frame_goes_at_once_and_later_ones_wait_for_their_slot() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut pacer = Pacer::new(10.0);
        pacer.offer(1);
        assert_eq!(pacer.take_due(t0), Some(1));
        pacer.offer(2);
        assert_eq!(pacer.deadline(), Some(ms(100)));
        assert_eq!(pacer.take_due(ms(50)), None);
        pacer.offer(3);
        assert_eq!(pacer.merged(), 1);
        assert_eq!(pacer.take_due(ms(100)), Some(3));
        assert_eq!(
            pacer.take_due(ms(500)),
            None,
            "nothing pending, nothing encoded"
        );
        assert_eq!(pacer.deadline(), None);
    }

    #[test]
    fn without_a_cap_every_frame_is_due_at_once() {
        let mut pacer = Pacer::new(f64::INFINITY);
        let now = Instant::now();
        for i in 0..5 {
            pacer.offer(i);
            assert_eq!(pacer.take_due(now), Some(i));
        }
        assert_eq!(pacer.merged(), 0);
    }

    proptest::proptest! {
        /// Whatever the arrival pattern: encodes are at least one interval apart, every frame is
        /// either encoded or merged, and the last frame offered is always encoded.
        #[test]
        fn encodes_are_spaced_and_nothing_is_lost_silently(gaps in proptest::collection::vec(0u64..300, 1..200)) {
            let t0 = Instant::now();
            let mut pacer = Pacer::new(10.0);
            let mut encoded: Vec<(Instant, usize)> = Vec::new();
            let mut now = t0;
            for (i, gap) in gaps.iter().enumerate() {
                // Time passes; the encoder thread wakes at deadlines in between.
                let arrival = now + Duration::from_millis(*gap);
                while let Some(deadline) = pacer.deadline() {
                    if deadline > arrival { break; }
                    if let Some(item) = pacer.take_due(deadline) { encoded.push((deadline, item)); }
                }
                now = arrival;
                pacer.offer(i);
                if let Some(item) = pacer.take_due(now) { encoded.push((now, item)); }
            }
            if let Some(item) = pacer.take_remaining() { encoded.push((now + Duration::from_secs(1), item)); }
            for pair in encoded.windows(2) {
                proptest::prop_assert!(pair[1].0 - pair[0].0 >= Duration::from_millis(100));
                proptest::prop_assert!(pair[1].1 > pair[0].1);
            }
            proptest::prop_assert_eq!(encoded.len() as u64 + pacer.merged(), gaps.len() as u64);
            proptest::prop_assert_eq!(encoded.last().map(|e| e.1), Some(gaps.len() - 1));
        }
    }
}
