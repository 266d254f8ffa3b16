//! The sample game's rules: a reaction-time test, as a plain state machine
//! with native unit tests. The screen (`mod.rs`) holds it in a reducer and
//! does what a state asks for: arm the wait before green, send a score.
//!
//! ```text
//! Idle ──press──▶ Waiting ──(1–3 s)──▶ Ready ──press──▶ Scored(ms) ──press──▶ Waiting …
//!                    │                   └──press (< 80 ms or > 10 s)──▶ TooEarly / TooSlow
//!                    └──press──▶ TooEarly (no score)
//! ```

use shared::api::ReactionScore;

use crate::answer::{self, Fields, FromBody, Player};
use crate::problem::Problem;

/// The wait before green: at least this…
pub const WAIT_MIN_MS: u32 = 1_000;
/// …plus up to this much, at random, so that it cannot be anticipated.
pub const WAIT_SPREAD_MS: u32 = 2_000;

/// The wait for `random`, a number from `Math.random()` (0 ≤ r < 1):
/// 1 to 3 seconds. Anything else (NaN, out of range) stays in bounds.
pub fn wait_ms(random: f64) -> u32 {
    let r = if random.is_finite() {
        random.clamp(0.0, 1.0)
    } else {
        0.0
    };
    WAIT_MIN_MS + (r * f64::from(WAIT_SPREAD_MS)) as u32
}

/// Where a round is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// No round yet: the pad says "开始".
    Idle,
    /// The round has begun: waiting for green.
    Waiting,
    /// Green since `since` (ms, the page's clock).
    Ready { since: f64 },
    /// A reaction of this many ms: shown, and sent to the server.
    Scored(u32),
    /// Pressed before green, or within [`ReactionScore::MIN_MS`] of it (a
    /// guess, not a reaction; the server would refuse it): no score.
    TooEarly,
    /// Pressed more than [`ReactionScore::MAX_MS`] after green: no score.
    TooSlow,
}

/// A press `elapsed` ms after green.
pub fn judge(elapsed: f64) -> Phase {
    let ms = elapsed.round();
    if ms.is_nan() || ms < f64::from(ReactionScore::MIN_MS) {
        Phase::TooEarly
    } else if ms > f64::from(ReactionScore::MAX_MS) {
        Phase::TooSlow
    } else {
        Phase::Scored(ms as u32)
    }
}

/// The server's answer about the best time: `{"best_ms": n}`, or null
/// before the first score (`shared::api::ReactionBest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Best(pub Option<u32>);

impl FromBody for Best {
    fn read<O: Fields>(o: &O) -> Result<Self, Problem> {
        answer::success(o)?;
        match o.number("best_ms") {
            // null or absent: no score yet.
            None => Ok(Best(None)),
            Some(n) if n.is_finite() && n >= 0.0 && n <= f64::from(u32::MAX) => {
                Ok(Best(Some(n as u32)))
            }
            Some(_) => Err(Problem::BadAnswer),
        }
    }
}

/// The body that submits a score (`shared::api::ReactionScore`).
pub fn score_body(ms: u32) -> String {
    let mut body = String::from("{\"reaction_ms\":");
    body.push_str(&decimal(ms));
    body.push('}');
    body
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    /// Rounds begun so far: a wait's end names its round.
    pub round: u32,
    pub phase: Phase,
    /// The player's name, once getinfo answered.
    pub name: Option<String>,
    /// The best time once the server told it: `Some(None)` is no score yet.
    pub best: Option<Option<u32>>,
    /// The last request that failed, until the next round.
    pub problem: Option<Problem>,
}

impl Default for Reaction {
    fn default() -> Self {
        Reaction {
            round: 0,
            phase: Phase::Idle,
            name: None,
            best: None,
            problem: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The screen's first two requests answered.
    Loaded {
        me: Result<Player, Problem>,
        best: Result<Best, Problem>,
    },
    /// The pad was pressed at `at` (ms, the page's clock).
    Press { at: f64 },
    /// The wait of round `round` ended at `at`: green.
    Go { round: u32, at: f64 },
    /// The server's answer to a score.
    Saved(Result<Best, Problem>),
}

impl Reaction {
    /// The state after `event` (for tests; the screen uses [`apply`]).
    ///
    /// [`apply`]: Reaction::apply
    pub fn next(&self, event: Event) -> Reaction {
        let mut next = self.clone();
        next.apply(event);
        next
    }

    /// Changes the state by `event`; false when it does not apply (a stale
    /// wait's end), and then nothing changed.
    pub fn apply(&mut self, event: Event) -> bool {
        match event {
            Event::Loaded { me, best } => {
                match me {
                    Ok(player) => self.name = Some(player.username),
                    Err(problem) => self.problem = Some(problem),
                }
                match best {
                    Ok(Best(best)) => self.keep_best(best),
                    Err(problem) => self.problem = Some(problem),
                }
            }
            Event::Press { at } => match self.phase {
                Phase::Waiting => self.phase = Phase::TooEarly,
                Phase::Ready { since } => self.phase = judge(at - since),
                Phase::Idle | Phase::Scored(_) | Phase::TooEarly | Phase::TooSlow => {
                    self.round = self.round.wrapping_add(1);
                    self.phase = Phase::Waiting;
                    self.problem = None;
                }
            },
            Event::Go { round, at } if round == self.round && self.phase == Phase::Waiting => {
                self.phase = Phase::Ready { since: at };
            }
            Event::Go { .. } => return false,
            Event::Saved(Ok(Best(best))) => self.keep_best(best),
            Event::Saved(Err(problem)) => self.problem = Some(problem),
        }
        true
    }

    /// What the screen's effect follows: a new round, or a new phase in it.
    pub fn effect_key(&self) -> u64 {
        let phase = match self.phase {
            Phase::Idle => 0,
            Phase::Waiting => 1,
            Phase::Ready { .. } => 2,
            Phase::Scored(_) => 3,
            Phase::TooEarly => 4,
            Phase::TooSlow => 5,
        };
        u64::from(self.round) << 3 | phase
    }

    /// The server's best only ever improves, so an answer that arrives
    /// late never makes it worse on screen.
    fn keep_best(&mut self, best: Option<u32>) {
        self.best = Some(match (self.best.flatten(), best) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        });
    }
}

/// `n` in decimal (what `to_string` does, without the formatting
/// machinery's code for it in the bundle).
pub fn decimal(n: u32) -> String {
    let mut out = String::new();
    push_decimal(&mut out, n);
    out
}

fn push_decimal(out: &mut String, n: u32) {
    if n >= 10 {
        push_decimal(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use shared::ErrorCode;

    fn run(events: impl IntoIterator<Item = Event>) -> Reaction {
        events
            .into_iter()
            .fold(Reaction::default(), |s, e| s.next(e))
    }

    fn press(at: f64) -> Event {
        Event::Press { at }
    }

    #[test]
    fn a_round_waits_turns_green_and_scores_the_reaction() {
        let waiting = run([press(0.0)]);
        assert_eq!((waiting.round, waiting.phase), (1, Phase::Waiting));
        let ready = waiting.next(Event::Go {
            round: 1,
            at: 2_000.0,
        });
        assert_eq!(ready.phase, Phase::Ready { since: 2_000.0 });
        let scored = ready.next(press(2_250.4));
        assert_eq!(scored.phase, Phase::Scored(250));
        // Pressing again begins the next round.
        let again = scored.next(press(3_000.0));
        assert_eq!((again.round, again.phase), (2, Phase::Waiting));
    }

    #[test]
    fn pressing_before_green_is_too_early_and_its_wait_is_void() {
        let early = run([press(0.0), press(500.0)]);
        assert_eq!(early.phase, Phase::TooEarly);
        // The wait of that round ends later: nothing turns green.
        assert_eq!(
            early.next(Event::Go {
                round: 1,
                at: 1_500.0
            }),
            early
        );
        // Nor does a wait of an earlier round end this one's.
        let second = early.next(press(2_000.0));
        assert_eq!(
            second.next(Event::Go {
                round: 1,
                at: 2_100.0
            }),
            second
        );
        // Nothing turns green before a round begins.
        let idle = Reaction::default();
        assert_eq!(idle.next(Event::Go { round: 0, at: 1.0 }), idle);
    }

    #[test]
    fn only_a_human_reaction_counts() {
        let min = f64::from(ReactionScore::MIN_MS);
        let max = f64::from(ReactionScore::MAX_MS);
        assert_eq!(judge(min - 1.0), Phase::TooEarly);
        assert_eq!(judge(min - 0.4), Phase::Scored(ReactionScore::MIN_MS));
        assert_eq!(judge(min), Phase::Scored(ReactionScore::MIN_MS));
        assert_eq!(judge(max), Phase::Scored(ReactionScore::MAX_MS));
        assert_eq!(judge(max + 1.0), Phase::TooSlow);
        // A clock that went backwards, or no clock at all.
        assert_eq!(judge(-5.0), Phase::TooEarly);
        assert_eq!(judge(f64::NAN), Phase::TooEarly);
        assert_eq!(judge(f64::INFINITY), Phase::TooSlow);
        assert_eq!(judge(f64::NEG_INFINITY), Phase::TooEarly);
    }

    #[test]
    fn the_wait_is_one_to_three_seconds_whatever_the_random_number() {
        assert_eq!(wait_ms(0.0), 1_000);
        assert_eq!(wait_ms(0.5), 2_000);
        assert_eq!(wait_ms(0.999_999), 2_999);
        for odd in [1.0, 7.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!((1_000..=3_000).contains(&wait_ms(odd)), "{odd}");
        }
    }

    #[test]
    fn the_best_only_improves_whatever_order_the_answers_come_in() {
        let loaded = run([Event::Loaded {
            me: Ok(Player {
                username: "yxc".into(),
                photo: String::new(),
            }),
            best: Ok(Best(None)),
        }]);
        assert_eq!(loaded.name.as_deref(), Some("yxc"));
        assert_eq!(loaded.best, Some(None), "no score yet");
        let first = loaded.next(Event::Saved(Ok(Best(Some(300)))));
        assert_eq!(first.best, Some(Some(300)));
        let better = first.next(Event::Saved(Ok(Best(Some(250)))));
        // An older answer arriving last.
        let late = better.next(Event::Saved(Ok(Best(Some(300)))));
        assert_eq!(late.best, Some(Some(250)));
        // A score sent before the best was known.
        let early = run([Event::Saved(Ok(Best(Some(400))))]).next(Event::Loaded {
            me: Err(Problem::Network),
            best: Ok(Best(Some(500))),
        });
        assert_eq!(early.best, Some(Some(400)));
        assert_eq!(early.name, None);
        assert_eq!(early.problem, Some(Problem::Network));
    }

    #[test]
    fn a_failed_request_is_shown_until_the_next_round() {
        let busy = Problem::Code(ErrorCode::Busy);
        let failed = run([Event::Loaded {
            me: Err(Problem::Network),
            best: Err(busy),
        }]);
        assert_eq!(failed.best, None, "unknown, not 'no score'");
        assert!(failed.problem.is_some());
        let playing = failed.next(press(0.0));
        assert_eq!(playing.problem, None);
        let refused = playing
            .next(Event::Go { round: 1, at: 10.0 })
            .next(press(300.0))
            .next(Event::Saved(Err(busy)));
        assert_eq!(refused.problem, Some(busy));
        assert_eq!(refused.phase, Phase::Scored(290));
    }

    #[test]
    fn each_round_and_phase_has_its_own_effect() {
        let states = [
            run([]),
            run([press(0.0)]),
            run([press(0.0), Event::Go { round: 1, at: 1.0 }]),
            run([press(0.0), Event::Go { round: 1, at: 1.0 }, press(200.0)]),
            run([press(0.0), press(1.0)]),
            run([press(0.0), press(1.0), press(2.0)]),
        ];
        let mut keys: Vec<u64> = states.iter().map(Reaction::effect_key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), states.len());
        let wrapped = Reaction {
            round: u32::MAX,
            phase: Phase::TooEarly,
            ..Reaction::default()
        };
        assert_eq!(wrapped.next(press(0.0)).round, 0);
    }

    #[test]
    fn a_stale_wait_changes_nothing_and_says_so() {
        let mut state = Reaction::default();
        assert!(!state.apply(Event::Go { round: 3, at: 0.0 }));
        assert_eq!(state, Reaction::default());
        assert!(state.apply(press(0.0)));
    }

    #[test]
    fn decimals_are_written_out() {
        for n in [0, 7, 10, 80, 231, 10_000, 4_294_967_295] {
            assert_eq!(decimal(n), n.to_string());
        }
    }

    #[test]
    fn the_best_is_read_from_any_shape_without_panicking() {
        let read = |v: serde_json::Value| Best::read(&v);
        assert_eq!(
            read(json!({"result": "success", "best_ms": 231})),
            Ok(Best(Some(231)))
        );
        assert_eq!(
            read(json!({"result": "success", "best_ms": null})),
            Ok(Best(None))
        );
        let body = serde_json::to_value(shared::api::ReactionBest {
            result: shared::api::Success::Success,
            best_ms: Some(80),
        })
        .unwrap();
        assert_eq!(read(body), Ok(Best(Some(80))));
        assert_eq!(
            read(json!({"result": "success", "best_ms": -1})),
            Err(Problem::BadAnswer)
        );
        assert_eq!(
            read(json!({"result": "success", "best_ms": 1e20})),
            Err(Problem::BadAnswer)
        );
        assert_eq!(read(json!({"best_ms": 1})), Err(Problem::BadAnswer));
        assert_eq!(
            read(json!({"result": "error", "error": "invalid_request", "message": "m"})),
            Err(Problem::Code(ErrorCode::InvalidRequest))
        );
        assert_eq!(read(json!([])), Err(Problem::BadAnswer));
    }

    #[test]
    fn the_score_body_is_the_shared_contract() {
        let body: ReactionScore = serde_json::from_str(&score_body(231)).unwrap();
        assert_eq!(body.reaction_ms, 231);
        let max: ReactionScore = serde_json::from_str(&score_body(u32::MAX)).unwrap();
        assert_eq!(max.reaction_ms, u32::MAX);
    }
}
