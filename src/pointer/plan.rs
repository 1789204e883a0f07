//! Which relative move to send next, given how far the target still is and what earlier moves
//! did. Pure arithmetic, no I/O, so it can be reasoned about and tested on its own.
//!
//! Coarse phase. The guest maps a move of `s` mickeys to some `f(s)` pixels, with `f` unknown,
//! non-linear (acceleration) and noisy (it depends on timing). The first move is the classic
//! "half the remaining distance": whatever the acceleration, as long as the guest's gain is below
//! four that lands closer than before. Each observed (sent, moved) pair then becomes a point of
//! an empirical curve `f`, and later moves invert that curve by interpolation to aim at the whole
//! remaining distance; far beyond the largest observation the curve is extrapolated with its
//! last gain but only half the way, because acceleration grows with the size of a move and a
//! full extrapolated step could overshoot by more than it gains. Moves go along the remaining vector
//! (guests accelerate the vector's length, so both axes then see the same gain).
//!
//! Fine phase (within [`FINE`] px on both axes, or when the coarse phase would send single
//! mickeys), per axis. Guests decelerate slow motion and
//! keep the sub-pixel remainder of every event, so a one-mickey move often does nothing and a
//! two-mickey one may jump two pixels. The fine phase therefore keeps, per axis, the gain of all
//! its moves together (pixels moved / mickeys sent, nothing-moves included) and sends
//! `remaining / gain` mickeys: with a remainder below one pixel that lands on the target or one
//! short of it, never beyond. A move that did nothing lowers the gain, so the next move grows
//! (by at most one mickey per round: a dead zone is crossed without a jump); a step that
//! overshot caps later steps below it (the guest's acceleration has a threshold). A one-mickey diagonal
//! step that overshoots switches to one axis at a time, because guests accelerate the vector's length
//! and a one-mickey diagonal is longer than one mickey.

/// Below this many pixels on both axes the fine phase takes over.
pub const FINE: i32 = 1;

/// How many observations the curve keeps (the newest; acceleration drifts with timing).
const MAX_OBSERVATIONS: usize = 8;

#[derive(Clone, Copy, Debug)]
struct Observation {
    sent: f64,
    moved: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Coarse,
    Fine,
}

/// Plans moves; call [`Planner::next`] with the remaining vector, send it, then
/// [`Planner::observe`] what happened.
#[derive(Clone, Debug)]
pub struct Planner {
    curve: Vec<Observation>,
    /// The length of the last coarse move if it moved nothing at all.
    dead: f64,
    /// Per axis: mickeys sent and pixels moved by fine moves, the last fine step.
    fine_sent: [f64; 2],
    fine_moved: [f64; 2],
    step: [i32; 2],
    /// Per axis, the largest fine step not known to overshoot.
    ceiling: [i32; 2],
    /// Fine moves go along one axis at a time.
    one_axis: bool,
    last: Option<(Phase, [i32; 2], [i32; 2])>,
}

impl Default for Planner {
    fn default() -> Self {
        Planner::new()
    }
}

impl Planner {
    pub fn new() -> Planner {
        Planner {
            curve: Vec::new(),
            dead: 0.0,
            fine_sent: [0.0; 2],
            fine_moved: [0.0; 2],
            step: [0; 2],
            ceiling: [i32::MAX; 2],
            one_axis: false,
            last: None,
        }
    }

    /// The move to send for `remaining` = target − position (pixels).
    pub fn next(&mut self, remaining: (i32, i32)) -> (i32, i32) {
        let r = [remaining.0, remaining.1];
        if r == [0, 0] {
            return (0, 0);
        }
        let coarse = self.coarse(r);
        // Near, or where the curve asks for single mickeys anyway: the fine phase, which
        // copes with remainders and thresholds.
        let (phase, send) = if (r[0].abs() <= FINE && r[1].abs() <= FINE)
            || (coarse[0].abs() <= 1 && coarse[1].abs() <= 1)
        {
            (Phase::Fine, self.fine(r))
        } else {
            (Phase::Coarse, coarse)
        };
        self.last = Some((phase, r, send));
        (send[0], send[1])
    }

    /// What the last move did: `moved` pixels; `clamped` per axis when the pointer ended on the
    /// screen edge it was moving towards (the motion was cut short, so it says little).
    pub fn observe(&mut self, moved: (i32, i32), clamped: (bool, bool)) {
        let Some((phase, r, send)) = self.last.take() else {
            return;
        };
        let moved = [moved.0, moved.1];
        let clamped = [clamped.0, clamped.1];
        match phase {
            Phase::Coarse => {
                let sent = len(send);
                let got = match clamped {
                    [false, false] => len(moved),
                    [true, true] => return,
                    // One axis was cut short: the other one tells the gain.
                    [x_clamped, _] => {
                        let a = if x_clamped { 1 } else { 0 };
                        if send[a] == 0 {
                            return;
                        }
                        sent * moved[a] as f64 / send[a] as f64
                    }
                };
                if got < 0.0 {
                    return;
                }
                if got > 0.0 {
                    self.dead = 0.0;
                }
                if got == 0.0 {
                    self.dead = self.dead.max(sent);
                    return;
                }
                self.curve
                    .retain(|o| (o.sent - sent).abs() > 0.15 * sent.max(1.0));
                self.curve.push(Observation { sent, moved: got });
                if self.curve.len() > MAX_OBSERVATIONS {
                    self.curve.remove(0);
                }
            }
            Phase::Fine => {
                for a in 0..2 {
                    if send[a] == 0 {
                        continue;
                    }
                    let overshot = moved[a].abs() > r[a].abs()
                        || (moved[a] != 0 && moved[a].signum() != r[a].signum());
                    if overshot {
                        self.ceiling[a] = (send[a].abs() - 1).max(1);
                        // Even the smallest diagonal jumps: the guest accelerates its length.
                        if send[0].abs() == 1 && send[1].abs() == 1 {
                            self.one_axis = true;
                        }
                    }
                    if !clamped[a] {
                        self.fine_sent[a] += send[a].abs() as f64;
                        self.fine_moved[a] += moved[a].abs() as f64;
                    }
                }
            }
        }
    }

    /// The fine gain of an axis: all fine moves so far, else the smallest coarse move's.
    fn fine_gain(&self, a: usize) -> f64 {
        if self.fine_sent[a] >= 1.0 {
            return (self.fine_moved[a] / self.fine_sent[a]).max(0.05);
        }
        self.curve
            .iter()
            .min_by(|x, y| x.sent.total_cmp(&y.sent))
            .map_or(1.0, |o| (o.moved / o.sent).clamp(0.05, 4.0))
    }

    fn fine(&mut self, r: [i32; 2]) -> [i32; 2] {
        let mut send = [0, 0];
        for a in 0..2 {
            if r[a] == 0 {
                continue;
            }
            let want = (r[a].abs() as f64 / self.fine_gain(a)).round().max(1.0) as i32;
            let step = if self.step[a] > 0 {
                want.min(self.step[a] + 1)
            } else {
                want
            }
            .min(self.ceiling[a]);
            self.step[a] = step;
            send[a] = r[a].signum() * step;
        }
        if self.one_axis && send[0] != 0 && send[1] != 0 {
            let keep = if r[0].abs() >= r[1].abs() { 0 } else { 1 };
            send[1 - keep] = 0;
        }
        send
    }

    fn coarse(&mut self, r: [i32; 2]) -> [i32; 2] {
        let want = len(r);
        let mut sent = self.invert(want);
        if self.dead > 0.0 {
            sent = sent.max(2.0 * self.dead);
        }
        let scale = sent / want;
        let mut send = [
            (r[0] as f64 * scale).round() as i32,
            (r[1] as f64 * scale).round() as i32,
        ];
        if send == [0, 0] {
            let a = if r[0].abs() >= r[1].abs() { 0 } else { 1 };
            send[a] = r[a].signum();
        }
        send
    }

    /// The move length expected to cover `want` pixels.
    fn invert(&self, want: f64) -> f64 {
        if self.curve.is_empty() {
            return want / 2.0;
        }
        let mut points = self.curve.clone();
        points.sort_by(|a, b| a.sent.total_cmp(&b.sent));
        let mut below = Observation {
            sent: 0.0,
            moved: 0.0,
        };
        for p in &points {
            if p.moved >= want {
                let span = p.moved - below.moved;
                if span <= 0.0 {
                    return p.sent;
                }
                return below.sent + (want - below.moved) * (p.sent - below.sent) / span;
            }
            if p.moved > below.moved {
                below = *p;
            }
        }
        // Beyond everything seen: the largest move's gain; the whole way up to half again the
        // largest move (acceleration cannot grow much over that), else half the way.
        let gain = below.moved / below.sent;
        let full = want / gain;
        (full / 2.0).max(full.min(1.5 * below.sent))
    }
}

fn len(v: [i32; 2]) -> f64 {
    ((v[0] as f64).powi(2) + (v[1] as f64).powi(2)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_move_is_half_the_way() {
        assert_eq!(Planner::new().next((400, -200)), (200, -100));
    }

    #[test]
    fn interpolates_after_an_observation() {
        let mut p = Planner::new();
        assert_eq!(p.next((400, 0)), (200, 0));
        p.observe((300, 0), (false, false)); // gain 1.5
        assert_eq!(p.next((100, 0)), (67, 0));
    }

    #[test]
    fn fine_steps_follow_the_fine_gain_and_grow_slowly() {
        let mut p = Planner::new();
        assert_eq!(p.next((1, -2)), (1, -2));
        p.observe((0, 0), (false, false)); // nothing: the gain is taken as tiny
        assert_eq!(p.next((1, -2)), (2, -3), "grows by one mickey a round");
        p.observe((2, -1), (false, false)); // x overshot with 2 mickeys
        // x: at most 1 mickey from now on; y: 1 px for 5 mickeys wants 5, grows to 4 only.
        assert_eq!(p.next((-1, -1)), (-1, -4));
        p.observe((-1, -2), (false, false)); // y overshot too
        assert_eq!(p.next((0, 1)), (0, 3), "y at most 3 from now on");
    }

    #[test]
    fn a_jumping_one_mickey_diagonal_moves_one_axis_at_a_time() {
        let mut p = Planner::new();
        assert_eq!(p.next((1, 1)), (1, 1));
        p.observe((2, 2), (false, false));
        assert_eq!(p.next((-1, -1)), (-1, 0));
    }

    #[test]
    fn a_coarse_move_that_did_nothing_is_at_least_doubled() {
        let mut p = Planner::new();
        assert_eq!(p.next((10, 0)), (5, 0));
        p.observe((0, 0), (false, false));
        assert_eq!(p.next((10, 0)), (10, 0));
    }
}
