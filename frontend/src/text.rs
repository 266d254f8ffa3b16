//! Every word a player reads, in one place (Chinese, as the players are).
//!
//! Two kinds of text live elsewhere on purpose: our server's error messages
//! are `shared::ErrorCode::player_message` (one wording for both halves),
//! and `acapp/game.js` writes "加载中…", "游戏加载失败…" and "重试" before
//! this wasm exists. The browser tests match several of these strings
//! exactly: change them together with `e2e/tests`.

/// Every screen's `<h1>`.
pub const TITLE: &str = "AcApp";

pub const LOADING: &str = "加载中…";

pub const LOGIN: &str = "AcWing一键登录";
/// The login button while an attempt runs.
pub const LOGGING_IN: &str = "正在登录…";
/// The status line while we wait for AcWing (apply_code, its dialog, its
/// page on the web).
pub const WAITING_FOR_ACWING: &str = "正在等待 AcWing 授权…";
pub const CANCEL: &str = "取消";

/// The AcApp's exit closes the window; the web's logs out and stays.
pub const EXIT_ACAPP: &str = "退出";
pub const EXIT_WEB: &str = "退出登录";
pub const EXITING: &str = "正在退出…";

/// The menu's way into the game.
pub const PLAY: &str = "开始游戏";
/// Ends every session of the player, after a question.
pub const LOGOUT_EVERYWHERE: &str = "退出所有设备";
pub const CONFIRM_EVERYWHERE_QUESTION: &str = "确定要退出所有设备吗？";
pub const CONFIRM_EVERYWHERE: &str = "确定退出";

/// The sample game (`src/game/`): replace these with your game's words.
pub const GAME_TITLE: &str = "反应测试";
/// The pad before the first round…
pub const GAME_START: &str = "开始";
/// …while waiting for green (red)…
pub const GAME_WAIT: &str = "等待变绿…";
/// …green…
pub const GAME_GO: &str = "点击！";
/// …and after a round.
pub const GAME_AGAIN: &str = "再来一次";
pub const GAME_TOO_EARLY: &str = "太早了";
pub const GAME_TOO_SLOW: &str = "太慢了，超过 10 秒不计成绩";
/// "反应时间：231 毫秒".
pub const GAME_LAST: &str = "反应时间：";
/// "最好成绩：231 毫秒".
pub const GAME_BEST: &str = "最好成绩：";
pub const GAME_MS: &str = " 毫秒";
pub const GAME_NO_BEST: &str = "还没有成绩";
pub const GAME_BACK: &str = "返回";

/// The session is alive but a refresh failed for now; we keep trying.
pub const RECONNECTING: &str = "重新连接…";

pub const AVATAR: &str = "头像";
pub const DEFAULT_AVATAR: &str = "默认头像";

pub const NETWORK: &str = "网络连接失败，请检查网络后重试。";
pub const TIMEOUT: &str = "登录长时间没有响应，已取消，请重新点击登录。";
pub const BAD_ANSWER: &str = "没有收到可识别的登录结果，请重试。";
pub const LOGOUT_FAILED: &str = "退出登录失败，请检查网络后重试。";

/// After a panic the instance is trapped: only a reload (the web) or a new
/// window (the AcApp, whose page is AcWing's) brings the app back.
pub const CRASHED_WEB: &str = "程序出错了，请刷新页面后重试。";
pub const CRASHED_ACAPP: &str = "程序出错了，请关闭窗口后重新打开。";
