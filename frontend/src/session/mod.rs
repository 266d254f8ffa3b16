//! The session: what the player sees and which login attempt counts, in
//! one state that changes only through [`Session::next`], a plain function
//! of the state and an [`Event`]. Yew holds it with `use_reducer` and hands
//! it down by context ([`use_session`]), beside the API handle
//! ([`use_api`]).
//!
//! Side effects follow the state rather than live in it: a login attempt
//! runs while the screen says it waits for that attempt (`login.rs`), the
//! credentials and the refresh timers are the API handle's (`crate::api`).

mod context;
pub mod login;

use std::rc::Rc;

use shared::ErrorCode;
use yew::Reducible;

use crate::answer::Player;
use crate::api::Notice;
use crate::problem::Problem;

pub use context::{use_api, use_session, use_session_root, SessionContext, SessionHandle};

/// How long one login attempt may take, from its start (the click, or the
/// AcApp window opening) to AcWing's answer: our apply_code and AcWing's
/// `authorize` together. AcWing never calls back when the player dismisses
/// its dialog, or (jQuery-style) when redirect_uri's answer is not 2xx.
/// The player's "取消" ends an attempt sooner; this is the backstop.
pub const LOGIN_TIMEOUT_MS: u32 = 30_000;

/// Where the app runs, as far as the session's rules go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The standalone site: a cookie session, no tokens to refresh.
    Web,
    /// AcWing's window: tokens in memory, and authorization starts by
    /// itself whenever the player is logged out.
    AcApp,
}

/// A login attempt's number. Answers carry it: only the current attempt's
/// count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt(pub u32);

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    /// Asking the server who we are (the web's getinfo).
    Loading,
    Login {
        problem: Option<Problem>,
        /// The attempt under way, if any: the button waits, "取消" shows.
        waiting: Option<Attempt>,
    },
    Menu {
        player: Rc<Player>,
        problem: Option<Problem>,
        /// Leaving: asking, or logging out (a busy button then ignores
        /// clicks).
        exit: Exit,
    },
    /// The game (`src/game/`), from the menu's "开始游戏"; "返回" goes
    /// back to the menu.
    Game { player: Rc<Player> },
}

/// Where the menu is with leaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Not leaving.
    Idle,
    /// "退出所有设备" asks first: "确定退出" or "取消".
    Confirming,
    /// Logging out of this session ("退出登录", or the AcApp's "退出").
    Here,
    /// Ending every session of the player, confirmed just before.
    Everywhere,
}

impl Exit {
    /// A logout is under way.
    pub fn busy(self) -> bool {
        matches!(self, Exit::Here | Exit::Everywhere)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub kind: Kind,
    pub screen: Screen,
    /// Login attempts started so far; the newest is the current one.
    pub attempts: u32,
    /// How often the web page has asked who we are: an answer to an
    /// earlier question is dropped.
    pub boots: u32,
    /// Logged in, but the last refresh did not get through: the screen
    /// stays and says "重新连接…" while the API handle keeps trying.
    pub reconnecting: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The web page shows again (back from the back/forward cache): ask
    /// the server who we are again.
    Boot,
    /// The web's getinfo answered the `boot`th question; `login_error` is
    /// what the address bar brought back from a failed web login.
    Booted {
        boot: u32,
        me: Result<Player, Problem>,
        login_error: Option<Problem>,
    },
    /// The player pressed "AcWing一键登录".
    Login,
    /// The player pressed "取消".
    Cancel(Attempt),
    TimedOut(Attempt),
    LoginFailed(Attempt, Problem),
    /// The AcApp's attempt brought tokens (already with the API handle).
    LoggedIn(Attempt, Player),
    /// A refresh failed for now; the API handle tries again.
    Reconnecting,
    Reconnected,
    /// The server refused the session for good (a refresh refused, or a
    /// 401 on the web).
    SessionEnded(Problem),
    /// The player pressed exit.
    Exit,
    /// The player pressed "退出所有设备": the menu asks first.
    AskEverywhere,
    /// "取消" on that question.
    KeepEverywhere,
    /// "确定退出" on that question: end every session of the player.
    ExitEverywhere,
    ExitFailed(Problem),
    /// The web's logout, or logout everywhere, went through.
    LoggedOut,
    /// The player pressed "开始游戏".
    Play,
    /// The game's "返回".
    BackToMenu,
    /// The player's photo did not load: the default avatar shows instead
    /// (a later login's photo gets its own chance).
    PhotoFailed,
}

impl From<Notice> for Event {
    fn from(notice: Notice) -> Self {
        match notice {
            Notice::Reconnecting => Event::Reconnecting,
            Notice::Reconnected => Event::Reconnected,
            Notice::SessionEnded(problem) => Event::SessionEnded(problem),
        }
    }
}

impl Session {
    pub fn new(kind: Kind) -> Session {
        match kind {
            // The web first asks getinfo (boot 1).
            Kind::Web => Session {
                kind,
                screen: Screen::Loading,
                attempts: 0,
                boots: 1,
                reconnecting: false,
            },
            // Like the course's app: authorize as soon as the window opens.
            Kind::AcApp => Session {
                kind,
                screen: Screen::Login {
                    problem: None,
                    waiting: Some(Attempt(1)),
                },
                attempts: 1,
                boots: 0,
                reconnecting: false,
            },
        }
    }

    /// The attempt that counts now, if one is under way.
    pub fn waiting(&self) -> Option<Attempt> {
        match self.screen {
            Screen::Login { waiting, .. } => waiting,
            _ => None,
        }
    }

    fn is_current(&self, attempt: Attempt) -> bool {
        self.waiting() == Some(attempt)
    }

    /// A new attempt, keeping `problem` on screen (the AcApp's automatic
    /// retry says why it logs in again).
    fn start_attempt(&self, problem: Option<Problem>) -> Session {
        let attempts = self.attempts.wrapping_add(1);
        Session {
            attempts,
            screen: Screen::Login {
                problem,
                waiting: Some(Attempt(attempts)),
            },
            reconnecting: false,
            ..self.clone()
        }
    }

    fn show(&self, screen: Screen) -> Session {
        Session {
            screen,
            ..self.clone()
        }
    }

    fn menu(&self, player: &Rc<Player>, problem: Option<Problem>, exit: Exit) -> Session {
        self.show(Screen::Menu {
            player: player.clone(),
            problem,
            exit,
        })
    }

    /// The menu's `exit` moves from `from` to `to`, the message cleared;
    /// anywhere else nothing changes.
    fn exit_step(&self, from: &[Exit], to: Exit) -> Option<Session> {
        match &self.screen {
            Screen::Menu { player, exit, .. } if from.contains(exit) => {
                Some(self.menu(player, None, to))
            }
            _ => None,
        }
    }

    fn logged_out(&self, problem: Option<Problem>) -> Session {
        Session {
            reconnecting: false,
            ..self.show(Screen::Login {
                problem,
                waiting: None,
            })
        }
    }

    /// The state after `event`. An event that does not apply to the
    /// current state (a late answer, a second click) leaves it as it is.
    pub fn next(&self, event: Event) -> Session {
        self.change(event).unwrap_or_else(|| self.clone())
    }

    /// The new state, or None when `event` changes nothing (then nothing
    /// renders either). Deciding it here, rather than comparing states,
    /// keeps a deep `PartialEq` out of the bundle.
    fn change(&self, event: Event) -> Option<Session> {
        Some(match event {
            Event::Boot => match self.kind {
                Kind::Web => Session {
                    boots: self.boots.wrapping_add(1),
                    reconnecting: false,
                    ..self.show(Screen::Loading)
                },
                Kind::AcApp => return None,
            },
            Event::Booted {
                boot,
                me,
                login_error,
            } => {
                if boot != self.boots || !matches!(self.screen, Screen::Loading) {
                    return None;
                }
                match me {
                    Ok(player) => self.menu(&Rc::new(player), None, Exit::Idle),
                    // Not logged in is the normal case, not a problem.
                    Err(Problem::Code(ErrorCode::Unauthorized)) => self.logged_out(login_error),
                    Err(other) => self.logged_out(login_error.or(Some(other))),
                }
            }
            Event::Login => match self.screen {
                Screen::Login { waiting: None, .. } => self.start_attempt(None),
                _ => return None,
            },
            Event::Cancel(attempt) => match &self.screen {
                Screen::Login { problem, .. } if self.is_current(attempt) => {
                    self.logged_out(*problem)
                }
                _ => return None,
            },
            Event::TimedOut(attempt) if self.is_current(attempt) => {
                self.logged_out(Some(Problem::Timeout))
            }
            Event::LoginFailed(attempt, problem) if self.is_current(attempt) => {
                self.logged_out(Some(problem))
            }
            Event::LoggedIn(attempt, player) if self.is_current(attempt) => Session {
                reconnecting: false,
                ..self.menu(&Rc::new(player), None, Exit::Idle)
            },
            Event::TimedOut(_) | Event::LoginFailed(..) | Event::LoggedIn(..) => return None,
            Event::Reconnecting => match self.screen {
                Screen::Menu { .. } | Screen::Game { .. } if !self.reconnecting => Session {
                    reconnecting: true,
                    ..self.clone()
                },
                _ => return None,
            },
            Event::Reconnected if self.reconnecting => Session {
                reconnecting: false,
                ..self.clone()
            },
            Event::Reconnected => return None,
            Event::SessionEnded(problem) => match self.screen {
                // An exit under way finishes: the AcApp's closes the window
                // whatever the server says. Not so "退出所有设备", which
                // reports a failure: a session refused meanwhile ends as
                // any other.
                Screen::Menu {
                    exit: Exit::Here, ..
                } => return None,
                Screen::Menu { .. } | Screen::Game { .. } => match self.kind {
                    Kind::Web => self.logged_out(Some(problem)),
                    Kind::AcApp => self.start_attempt(Some(problem)),
                },
                // Not logged in: nothing ends (getinfo's 401 at boot is how
                // the web learns that nobody is logged in).
                _ => return None,
            },
            // A busy button ignores clicks: a double click is one logout.
            Event::Exit => self.exit_step(&[Exit::Idle], Exit::Here)?,
            Event::AskEverywhere => self.exit_step(&[Exit::Idle], Exit::Confirming)?,
            Event::KeepEverywhere => self.exit_step(&[Exit::Confirming], Exit::Idle)?,
            // Only from the question: each "退出所有设备" is confirmed
            // afresh, a failed one included.
            Event::ExitEverywhere => self.exit_step(&[Exit::Confirming], Exit::Everywhere)?,
            Event::ExitFailed(problem) => match &self.screen {
                Screen::Menu { player, exit, .. } if exit.busy() => {
                    self.menu(player, Some(problem), Exit::Idle)
                }
                _ => return None,
            },
            Event::LoggedOut => match self.screen {
                Screen::Menu { .. } => self.logged_out(None),
                _ => return None,
            },
            Event::Play => match &self.screen {
                Screen::Menu {
                    player,
                    exit: Exit::Idle,
                    ..
                } => self.show(Screen::Game {
                    player: player.clone(),
                }),
                _ => return None,
            },
            Event::BackToMenu => match &self.screen {
                Screen::Game { player } => self.menu(player, None, Exit::Idle),
                _ => return None,
            },
            Event::PhotoFailed => match &self.screen {
                Screen::Menu {
                    player,
                    problem,
                    exit,
                } if !player.photo.is_empty() => self.menu(
                    &Rc::new(Player {
                        username: player.username.clone(),
                        photo: String::new(),
                    }),
                    *problem,
                    *exit,
                ),
                _ => return None,
            },
        })
    }
}

impl Reducible for Session {
    type Action = Event;

    fn reduce(self: Rc<Self>, event: Event) -> Rc<Self> {
        // The same Rc when nothing changed: no render.
        match self.change(event) {
            Some(next) => Rc::new(next),
            None => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn player(name: &str) -> Player {
        Player {
            username: name.into(),
            photo: String::new(),
        }
    }

    fn run(session: Session, events: impl IntoIterator<Item = Event>) -> Session {
        events.into_iter().fold(session, |s, e| s.next(e))
    }

    fn web_menu() -> Session {
        Session::new(Kind::Web).next(Event::Booted {
            boot: 1,
            me: Ok(player("yxc")),
            login_error: None,
        })
    }

    fn acapp_menu() -> Session {
        Session::new(Kind::AcApp).next(Event::LoggedIn(Attempt(1), player("yxc")))
    }

    fn login(problem: Option<Problem>, waiting: Option<u32>) -> Screen {
        Screen::Login {
            problem,
            waiting: waiting.map(Attempt),
        }
    }

    #[test]
    fn the_web_asks_getinfo_first_and_the_acapp_authorizes_at_once() {
        let web = Session::new(Kind::Web);
        assert_eq!((web.screen.clone(), web.boots), (Screen::Loading, 1));
        let acapp = Session::new(Kind::AcApp);
        assert_eq!(acapp.screen, login(None, Some(1)));
        assert_eq!(acapp.waiting(), Some(Attempt(1)));
    }

    #[test]
    fn getinfo_decides_between_menu_and_login() {
        let web = Session::new(Kind::Web);
        assert!(matches!(
            web_menu().screen,
            Screen::Menu {
                exit: Exit::Idle,
                ..
            }
        ));
        let nobody = web.next(Event::Booted {
            boot: 1,
            me: Err(Problem::Code(ErrorCode::Unauthorized)),
            login_error: None,
        });
        assert_eq!(
            nobody.screen,
            login(None, None),
            "not logged in is no problem"
        );
        let rejected = Some(Problem::Code(ErrorCode::UserRejected));
        let back = web.next(Event::Booted {
            boot: 1,
            me: Err(Problem::Code(ErrorCode::Unauthorized)),
            login_error: rejected,
        });
        assert_eq!(back.screen, login(rejected, None));
        let down = web.next(Event::Booted {
            boot: 1,
            me: Err(Problem::Network),
            login_error: None,
        });
        assert_eq!(down.screen, login(Some(Problem::Network), None));
    }

    #[test]
    fn an_answer_to_an_earlier_boot_is_dropped() {
        let web = Session::new(Kind::Web).next(Event::Boot);
        assert_eq!(web.boots, 2);
        let stale = web.next(Event::Booted {
            boot: 1,
            me: Ok(player("old")),
            login_error: None,
        });
        assert_eq!(stale, web);
        // And once answered, a second answer changes nothing.
        let menu = web_menu();
        let again = menu.next(Event::Booted {
            boot: 1,
            me: Err(Problem::Network),
            login_error: None,
        });
        assert_eq!(again, menu);
    }

    #[test]
    fn back_from_the_bfcache_the_web_asks_again_and_drops_the_attempt() {
        let waiting = run(
            Session::new(Kind::Web),
            [
                Event::Booted {
                    boot: 1,
                    me: Err(Problem::Code(ErrorCode::Unauthorized)),
                    login_error: None,
                },
                Event::Login,
            ],
        );
        assert_eq!(waiting.waiting(), Some(Attempt(1)));
        let back = waiting.next(Event::Boot);
        assert_eq!((back.screen.clone(), back.boots), (Screen::Loading, 2));
        assert_eq!(back.next(Event::TimedOut(Attempt(1))), back);
        // The AcApp has no such page life.
        let acapp = Session::new(Kind::AcApp);
        assert_eq!(acapp.next(Event::Boot), acapp);
    }

    #[test]
    fn only_the_current_attempt_counts() {
        let s = Session::new(Kind::AcApp);
        let timed_out = s.next(Event::TimedOut(Attempt(1)));
        assert_eq!(timed_out.screen, login(Some(Problem::Timeout), None));
        // The late answer of attempt 1 is dropped…
        let late = timed_out.next(Event::LoggedIn(Attempt(1), player("late")));
        assert_eq!(late, timed_out);
        // …and so is it once attempt 2 runs.
        let second = timed_out.next(Event::Login);
        assert_eq!(
            second.screen,
            login(None, Some(2)),
            "a new attempt clears the message"
        );
        assert_eq!(
            second.next(Event::LoggedIn(Attempt(1), player("late"))),
            second
        );
        assert_eq!(
            second.next(Event::LoginFailed(Attempt(1), Problem::Network)),
            second
        );
        let menu = second.next(Event::LoggedIn(Attempt(2), player("yxc")));
        assert!(matches!(&menu.screen, Screen::Menu { player, .. } if player.username == "yxc"));
    }

    #[test]
    fn a_second_click_starts_no_second_attempt() {
        let s = Session::new(Kind::AcApp);
        assert_eq!(s.next(Event::Login), s);
        assert_eq!(
            Session::new(Kind::Web).next(Event::Login),
            Session::new(Kind::Web)
        );
        assert_eq!(web_menu().next(Event::Login), web_menu());
    }

    #[test]
    fn cancel_ends_the_attempt_at_once_and_a_late_answer_is_dropped() {
        let s = Session::new(Kind::AcApp);
        let cancelled = s.next(Event::Cancel(Attempt(1)));
        assert_eq!(cancelled.screen, login(None, None));
        assert_eq!(
            cancelled.next(Event::LoggedIn(Attempt(1), player("late"))),
            cancelled
        );
        assert_eq!(cancelled.next(Event::TimedOut(Attempt(1))), cancelled);
        // A stale cancel does not touch the next attempt.
        let next = cancelled.next(Event::Login);
        assert_eq!(next.next(Event::Cancel(Attempt(1))), next);
        // Cancelling keeps the message that explains the attempt.
        let ended = acapp_menu().next(Event::SessionEnded(Problem::Code(ErrorCode::Unauthorized)));
        let kept = ended.next(Event::Cancel(Attempt(2)));
        assert_eq!(
            kept.screen,
            login(Some(Problem::Code(ErrorCode::Unauthorized)), None)
        );
    }

    #[test]
    fn failures_show_their_problem_with_the_button_back() {
        let s = Session::new(Kind::AcApp);
        let rejected = Problem::Code(ErrorCode::UserRejected);
        assert_eq!(
            s.next(Event::LoginFailed(Attempt(1), rejected)).screen,
            login(Some(rejected), None)
        );
    }

    #[test]
    fn reconnecting_keeps_the_menu() {
        let menu = acapp_menu();
        let shaky = menu.next(Event::Reconnecting);
        assert!(shaky.reconnecting);
        assert_eq!(shaky.screen, menu.screen);
        let fine = shaky.next(Event::Reconnected);
        assert_eq!(fine, menu);
        // Only a logged-in screen reconnects.
        let s = Session::new(Kind::AcApp);
        assert_eq!(s.next(Event::Reconnecting), s);
    }

    #[test]
    fn a_refused_session_says_why_and_the_acapp_authorizes_again() {
        let expired = Problem::Code(ErrorCode::Unauthorized);
        let acapp = acapp_menu()
            .next(Event::Reconnecting)
            .next(Event::SessionEnded(expired));
        assert_eq!(acapp.screen, login(Some(expired), Some(2)));
        assert!(!acapp.reconnecting);
        let web = web_menu().next(Event::SessionEnded(expired));
        assert_eq!(web.screen, login(Some(expired), None));
        assert_eq!(expired.message(), "登录已过期，请重新登录。");
        // Nobody logged in: nothing to end.
        let loading = Session::new(Kind::Web);
        assert_eq!(loading.next(Event::SessionEnded(expired)), loading);
        let waiting = Session::new(Kind::AcApp);
        assert_eq!(waiting.next(Event::SessionEnded(expired)), waiting);
    }

    #[test]
    fn exit_is_busy_once_and_a_failure_brings_the_button_back() {
        let menu = web_menu();
        let exiting = menu.next(Event::Exit);
        assert!(matches!(
            exiting.screen,
            Screen::Menu {
                exit: Exit::Here,
                ..
            }
        ));
        assert_eq!(
            exiting.next(Event::Exit),
            exiting,
            "a double click is one exit"
        );
        let failed = exiting.next(Event::ExitFailed(Problem::LogoutFailed));
        assert!(matches!(
            failed.screen,
            Screen::Menu {
                exit: Exit::Idle,
                problem: Some(Problem::LogoutFailed),
                ..
            }
        ));
        let again = failed.next(Event::Exit);
        assert!(matches!(
            again.screen,
            Screen::Menu {
                exit: Exit::Here,
                problem: None,
                ..
            }
        ));
        assert_eq!(again.next(Event::LoggedOut).screen, login(None, None));
        // A session ending meanwhile does not interrupt the exit.
        let ended = again.next(Event::SessionEnded(Problem::Code(ErrorCode::Unauthorized)));
        assert_eq!(ended, again);
        // Nothing to fail when no exit runs.
        assert_eq!(menu.next(Event::ExitFailed(Problem::LogoutFailed)), menu);
    }

    fn exit_of(session: &Session) -> Option<Exit> {
        match session.screen {
            Screen::Menu { exit, .. } => Some(exit),
            _ => None,
        }
    }

    #[test]
    fn logging_out_everywhere_is_asked_first_and_confirmed_afresh() {
        let menu = web_menu();
        // "确定退出" without the question does nothing.
        assert_eq!(menu.next(Event::ExitEverywhere), menu);
        let asking = menu.next(Event::AskEverywhere);
        assert_eq!(exit_of(&asking), Some(Exit::Confirming));
        assert_eq!(asking.next(Event::AskEverywhere), asking);
        // While asking, neither the exit nor the game starts.
        assert_eq!(asking.next(Event::Exit), asking);
        assert_eq!(asking.next(Event::Play), asking);
        assert_eq!(asking.next(Event::KeepEverywhere), menu);
        let leaving = asking.next(Event::ExitEverywhere);
        assert_eq!(exit_of(&leaving), Some(Exit::Everywhere));
        assert!(Exit::Everywhere.busy() && Exit::Here.busy());
        assert!(!Exit::Confirming.busy() && !Exit::Idle.busy());
        // Busy: more clicks change nothing.
        for click in [
            Event::ExitEverywhere,
            Event::AskEverywhere,
            Event::KeepEverywhere,
            Event::Exit,
            Event::Play,
        ] {
            assert_eq!(leaving.next(click), leaving);
        }
        // A failure says so and brings the button back: the next try asks
        // again.
        let failed = leaving.next(Event::ExitFailed(Problem::Network));
        assert!(matches!(
            failed.screen,
            Screen::Menu {
                exit: Exit::Idle,
                problem: Some(Problem::Network),
                ..
            }
        ));
        assert_eq!(failed.next(Event::ExitEverywhere), failed);
        let again = failed.next(Event::AskEverywhere);
        assert!(matches!(
            again.screen,
            Screen::Menu {
                exit: Exit::Confirming,
                problem: None,
                ..
            }
        ));
        assert_eq!(leaving.next(Event::LoggedOut).screen, login(None, None));
        // Nothing to fail while only asking.
        assert_eq!(asking.next(Event::ExitFailed(Problem::Network)), asking);
    }

    #[test]
    fn a_session_refused_while_asking_or_leaving_everywhere_ends() {
        let expired = Problem::Code(ErrorCode::Unauthorized);
        let asking = web_menu().next(Event::AskEverywhere);
        assert_eq!(
            asking.next(Event::SessionEnded(expired)).screen,
            login(Some(expired), None)
        );
        let leaving = acapp_menu()
            .next(Event::AskEverywhere)
            .next(Event::ExitEverywhere);
        let ended = leaving.next(Event::SessionEnded(expired));
        assert_eq!(ended.screen, login(Some(expired), Some(2)));
        // Its late outcome is dropped.
        assert_eq!(ended.next(Event::ExitFailed(expired)), ended);
        assert_eq!(ended.next(Event::LoggedOut), ended);
    }

    #[test]
    fn the_game_opens_from_the_menu_and_goes_back_to_it() {
        let menu = acapp_menu();
        let game = menu.next(Event::Play);
        assert!(matches!(&game.screen, Screen::Game { player } if player.username == "yxc"));
        assert_eq!(game.next(Event::Play), game);
        for menu_only in [
            Event::Exit,
            Event::AskEverywhere,
            Event::ExitEverywhere,
            Event::LoggedOut,
            Event::ExitFailed(Problem::Network),
        ] {
            assert_eq!(game.next(menu_only), game);
        }
        assert_eq!(game.next(Event::BackToMenu), menu);
        assert_eq!(menu.next(Event::BackToMenu), menu);
        // A message on the menu is cleared on the way back.
        let failed = menu
            .next(Event::Exit)
            .next(Event::ExitFailed(Problem::LogoutFailed));
        assert_eq!(failed.next(Event::Play).next(Event::BackToMenu), menu);
        // No game while logging out, nor before logging in.
        let exiting = menu.next(Event::Exit);
        assert_eq!(exiting.next(Event::Play), exiting);
        let login = Session::new(Kind::AcApp);
        assert_eq!(login.next(Event::Play), login);
    }

    #[test]
    fn the_game_reconnects_and_ends_with_the_session() {
        let expired = Problem::Code(ErrorCode::Unauthorized);
        let game = acapp_menu().next(Event::Play);
        let shaky = game.next(Event::Reconnecting);
        assert!(shaky.reconnecting);
        assert_eq!(shaky.next(Event::Reconnected), game);
        assert_eq!(
            game.next(Event::SessionEnded(expired)).screen,
            login(Some(expired), Some(2))
        );
        let web = web_menu().next(Event::Play);
        assert_eq!(
            web.next(Event::SessionEnded(expired)).screen,
            login(Some(expired), None)
        );
    }

    #[test]
    fn a_photo_that_fails_to_load_is_dropped() {
        let menu = Session::new(Kind::Web).next(Event::Booted {
            boot: 1,
            me: Ok(Player {
                username: "yxc".into(),
                photo: "https://cdn/p.png".into(),
            }),
            login_error: None,
        });
        let failed = menu.next(Event::PhotoFailed);
        assert!(matches!(&failed.screen,
            Screen::Menu { player, .. } if player.photo.is_empty() && player.username == "yxc"));
        assert_eq!(failed.next(Event::PhotoFailed), failed);
        let login = Session::new(Kind::AcApp);
        assert_eq!(login.next(Event::PhotoFailed), login);
    }

    #[test]
    fn the_reducer_keeps_its_state_when_nothing_changes() {
        let state = Rc::new(acapp_menu());
        let same = state.clone().reduce(Event::Login);
        assert!(Rc::ptr_eq(&state, &same));
        let changed = state.clone().reduce(Event::Exit);
        assert!(!Rc::ptr_eq(&state, &changed));
    }

    #[test]
    fn attempt_numbers_wrap_instead_of_overflowing() {
        let mut s = Session::new(Kind::AcApp);
        s.attempts = u32::MAX;
        s.screen = login(None, None);
        assert_eq!(s.next(Event::Login).waiting(), Some(Attempt(0)));
        s.boots = u32::MAX;
        s.kind = Kind::Web;
        assert_eq!(s.next(Event::Boot).boots, 0);
    }
}
