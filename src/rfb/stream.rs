//! Publishing frames to any number of subscribers without copying pixels, and without a slow
//! subscriber ever missing a changed region.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::RfbError;
use super::frame::{Frame, Rect};

/// How many recent frames are kept for subscribers that fall behind (pixels are shared, so
/// this costs at most this many framebuffer copies, only while the screen changes).
const KEPT_FRAMES: usize = 8;
/// How many recent damage lists are kept to build a lagging subscriber's union of damage.
const KEPT_DAMAGE: usize = 4096;
/// A damage list longer than this is replaced by its bounding box.
const MAX_DAMAGE_RECTS: usize = 64;

/// State shared between the reader task (publisher) and every handle (subscribers).
pub(crate) struct Published {
    history: Mutex<History>,
    /// Set once when the session ends, with the reason.
    ended: Mutex<Option<RfbError>>,
    latest: watch::Receiver<Arc<Frame>>,
}

struct History {
    frames: VecDeque<Arc<Frame>>,
    damage: VecDeque<(u64, Vec<Rect>)>,
}

impl Published {
    pub fn new(first: Arc<Frame>) -> (Arc<Published>, watch::Sender<Arc<Frame>>) {
        let (tx, rx) = watch::channel(first);
        let p = Published {
            history: Mutex::new(History {
                frames: VecDeque::new(),
                damage: VecDeque::new(),
            }),
            ended: Mutex::new(None),
            latest: rx,
        };
        (Arc::new(p), tx)
    }

    /// Called by the reader task only, in serial order.
    pub fn publish(&self, tx: &watch::Sender<Arc<Frame>>, frame: Frame) {
        let frame = Arc::new(frame);
        {
            let mut h = self.history.lock().unwrap_or_else(|e| e.into_inner());
            h.damage.push_back((frame.serial, frame.damage.clone()));
            if h.damage.len() > KEPT_DAMAGE {
                h.damage.pop_front();
            }
            h.frames.push_back(frame.clone());
            if h.frames.len() > KEPT_FRAMES {
                h.frames.pop_front();
            }
        }
        tx.send_replace(frame);
    }

    pub fn end(&self, reason: RfbError) {
        let mut e = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        if e.is_none() {
            *e = Some(reason);
        }
    }

    pub fn ended(&self) -> Option<RfbError> {
        self.ended.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn ended_error(&self) -> RfbError {
        match self.ended() {
            Some(e) => RfbError::SessionEnded(e.to_string()),
            None => RfbError::SessionEnded("closed".into()),
        }
    }

    pub fn latest(&self) -> Arc<Frame> {
        self.latest.borrow().clone()
    }

    pub fn receiver(&self) -> watch::Receiver<Arc<Frame>> {
        self.latest.clone()
    }

    /// Waits until a frame with a serial greater than `after` exists and returns the newest.
    pub async fn wait_serial(&self, after: u64, timeout: Duration) -> Result<Arc<Frame>, RfbError> {
        let mut rx = self.receiver();
        let wait = async {
            loop {
                let f = rx.borrow_and_update().clone();
                if f.serial > after {
                    return Ok(f);
                }
                if self.ended().is_some() || rx.changed().await.is_err() {
                    return Err(self.ended_error());
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| RfbError::FrameTimeout(timeout))?
    }
}

/// Every frame after the moment of [`Session::subscribe`](super::Session::subscribe), in order.
///
/// A subscriber that falls more than a few frames behind gets the newest frame with the union
/// of all damage it missed, so a watcher can never miss a changed region.
pub struct FrameStream {
    published: Arc<Published>,
    rx: watch::Receiver<Arc<Frame>>,
    next_serial: u64,
}

impl FrameStream {
    pub(crate) fn new(published: Arc<Published>) -> FrameStream {
        let rx = published.receiver();
        let next_serial = rx.borrow().serial + 1;
        FrameStream {
            published,
            rx,
            next_serial,
        }
    }

    /// The serial the next frame returned will have (at least).
    pub fn next_serial(&self) -> u64 {
        self.next_serial
    }

    /// The next frame, waiting at most `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Result<Arc<Frame>, RfbError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            self.rx.borrow_and_update();
            if let Some(f) = self.take() {
                return Ok(f);
            }
            if self.published.ended().is_some() {
                return Err(self.published.ended_error());
            }
            match tokio::time::timeout_at(deadline, self.rx.changed()).await {
                Err(_) => return Err(RfbError::FrameTimeout(timeout)),
                Ok(Err(_)) => {
                    if let Some(f) = self.take() {
                        return Ok(f);
                    }
                    return Err(self.published.ended_error());
                }
                Ok(Ok(())) => {}
            }
        }
    }

    fn take(&mut self) -> Option<Arc<Frame>> {
        let h = self
            .published
            .history
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let newest = h.frames.back()?.clone();
        if newest.serial < self.next_serial {
            return None;
        }
        if let Some(f) = h.frames.iter().find(|f| f.serial == self.next_serial) {
            self.next_serial += 1;
            return Some(f.clone());
        }
        // Lagged: the newest frame, carrying everything missed since next_serial.
        let full = Rect::full(newest.width(), newest.height());
        let covered = h
            .damage
            .front()
            .is_some_and(|(s, _)| *s <= self.next_serial);
        let damage = if covered {
            let missed = h
                .damage
                .iter()
                .filter(|(s, _)| *s >= self.next_serial)
                .flat_map(|(_, d)| d.iter());
            merge_damage(missed.copied(), full)
        } else {
            vec![full]
        };
        self.next_serial = newest.serial + 1;
        let mut f = (*newest).clone();
        f.damage = damage;
        Some(Arc::new(f))
    }
}

/// Clips rectangles to `bounds`, drops empty ones, and replaces too many by their bounding box.
pub(crate) fn merge_damage(rects: impl Iterator<Item = Rect>, bounds: Rect) -> Vec<Rect> {
    let mut out: Vec<Rect> = Vec::new();
    for r in rects {
        let x = r.x.min(bounds.right());
        let y = r.y.min(bounds.bottom());
        let c = Rect::new(
            x,
            y,
            r.right().min(bounds.right()) - x,
            r.bottom().min(bounds.bottom()) - y,
        );
        if !c.is_empty() && !out.contains(&c) {
            out.push(c);
        }
    }
    if out.len() > MAX_DAMAGE_RECTS {
        let bbox = out.iter().fold(Rect::default(), |a, b| a.union(b));
        out = vec![bbox];
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn frame(serial: u64, damage: Vec<Rect>) -> Frame {
        Frame {
            serial,
            time: Instant::now(),
            image: Arc::new(image::RgbImage::new(100, 100)),
            damage,
            cursor: None,
            pointer: None,
        }
    }

    #[tokio::test]
    async fn lagging_subscriber_gets_union_of_missed_damage() {
        let (p, tx) = Published::new(Arc::new(frame(0, vec![])));
        let mut s = FrameStream::new(p.clone());
        for i in 1..=20u32 {
            p.publish(&tx, frame(i.into(), vec![Rect::new(i, i, 1, 1)]));
        }
        let f = s.next(Duration::from_secs(1)).await.unwrap();
        assert_eq!(f.serial, 20);
        assert_eq!(f.damage.len(), 20, "every missed rectangle is reported");
        assert!(f.damage.contains(&Rect::new(1, 1, 1, 1)));
        p.publish(&tx, frame(21, vec![Rect::new(5, 5, 2, 2)]));
        let f = s.next(Duration::from_secs(1)).await.unwrap();
        assert_eq!(
            (f.serial, f.damage.clone()),
            (21, vec![Rect::new(5, 5, 2, 2)])
        );
        assert!(matches!(
            s.next(Duration::from_millis(10)).await,
            Err(RfbError::FrameTimeout(_))
        ));
    }

    #[tokio::test]
    async fn in_order_when_keeping_up() {
        let (p, tx) = Published::new(Arc::new(frame(0, vec![])));
        let mut s = FrameStream::new(p.clone());
        for i in 1..=3 {
            p.publish(&tx, frame(i, vec![]));
        }
        for i in 1..=3 {
            assert_eq!(s.next(Duration::from_secs(1)).await.unwrap().serial, i);
        }
        p.end(RfbError::Closed(String::new()));
        assert!(matches!(
            s.next(Duration::from_secs(1)).await,
            Err(RfbError::SessionEnded(_))
        ));
    }
}
