//! A bounded hand-over between the thread that sees frames and the encoder thread.
//!
//! The producer never waits: when the encoder falls behind and the queue is full, the newest
//! frame replaces the last queued one. Frames are whole snapshots, so the replaced one's
//! content is not lost, only an intermediate state of the screen; the replacements are counted.
//! Memory is therefore bounded by `capacity` frames whatever the encoder's speed.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

pub struct Mailbox<T> {
    capacity: usize,
    state: Mutex<State<T>>,
    ready: Condvar,
}

struct State<T> {
    queue: VecDeque<T>,
    closed: bool,
    merged: u64,
    pushed: u64,
}

/// What a [`Mailbox::take`] returned.
pub struct Taken<T> {
    pub items: Vec<T>,
    /// No more items will come: [`Mailbox::close`] was called and the queue is empty now.
    pub closed: bool,
}

impl<T> Mailbox<T> {
    pub fn new(capacity: usize) -> Mailbox<T> {
        let capacity = capacity.max(1);
        Mailbox {
            capacity,
            state: Mutex::new(State {
                queue: VecDeque::with_capacity(capacity),
                closed: false,
                merged: 0,
                pushed: 0,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panic while holding this lock leaves the queue consistent (every operation is a
        // single push/pop), so a poisoned lock is still usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `item` without waiting. Returns false (and drops it) once closed.
    pub fn push(&self, item: T) -> bool {
        let mut state = self.lock();
        if state.closed {
            return false;
        }
        state.pushed += 1;
        if state.queue.len() >= self.capacity {
            state.queue.pop_back();
            state.merged += 1;
        }
        state.queue.push_back(item);
        drop(state);
        self.ready.notify_one();
        true
    }

    /// Waits until something is queued, the mailbox is closed, or `deadline` passes; then takes
    /// everything queued.
    pub fn take(&self, deadline: Option<Instant>) -> Taken<T> {
        let mut state = self.lock();
        loop {
            if !state.queue.is_empty() || state.closed {
                break;
            }
            match deadline {
                None => state = self.ready.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    state = self
                        .ready
                        .wait_timeout(state, deadline - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
        }
        let items: Vec<T> = state.queue.drain(..).collect();
        Taken {
            items,
            closed: state.closed,
        }
    }

    /// No more pushes; the consumer gets what is queued and then `closed`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// How many pushed items were replaced by a newer one because the queue was full.
    pub fn merged(&self) -> u64 {
        self.lock().merged
    }

    pub fn pushed(&self) -> u64 {
        self.lock().pushed
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_full_queue_keeps_the_newest_and_counts_the_merge() {
        let mailbox = Mailbox::new(2);
        for i in 0..5 {
            assert!(mailbox.push(i));
        }
        assert_eq!(mailbox.len(), 2);
        assert_eq!(mailbox.merged(), 3);
        let taken = mailbox.take(Some(Instant::now()));
        assert_eq!(taken.items, vec![0, 4]);
        assert!(!taken.closed);
    }

    #[test]
    fn take_times_out_empty() {
        let mailbox: Mailbox<u32> = Mailbox::new(1);
        let deadline = Instant::now() + Duration::from_millis(20);
        let taken = mailbox.take(Some(deadline));
        assert!(taken.items.is_empty() && !taken.closed);
        assert!(Instant::now() >= deadline);
    }

    #[test]
    fn close_wakes_the_consumer_and_refuses_pushes() {
        let mailbox = Arc::new(Mailbox::new(4));
        let consumer = {
            let mailbox = mailbox.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    let taken = mailbox.take(None);
                    got.extend(taken.items);
                    if taken.closed {
                        return got;
                    }
                }
            })
        };
        for i in 0..3 {
            mailbox.push(i);
        }
        mailbox.close();
        assert!(!mailbox.push(99));
        let got = consumer.join().expect("consumer thread");
        assert!(!got.contains(&99));
        assert_eq!(
            *got.last().expect("got the last item"),
            2,
            "the newest item always arrives"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_holds_more_than_capacity(capacity in 1usize..8, pushes in 0usize..100) {
            let mailbox = Mailbox::new(capacity);
            for i in 0..pushes {
                mailbox.push(i);
                proptest::prop_assert!(mailbox.len() <= capacity);
            }
            proptest::prop_assert_eq!(mailbox.merged() as usize, pushes.saturating_sub(capacity));
            let taken = mailbox.take(Some(Instant::now()));
            if pushes > 0 {
                proptest::prop_assert_eq!(*taken.items.last().unwrap(), pushes - 1);
            }
        }
    }
}
