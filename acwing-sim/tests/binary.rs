//! The `acwing-sim` binary as an AcApp author runs it: flags, environment,
//! a users file, and the address on the first line of stdout.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_acwing-sim");

/// The binary, killed when dropped.
struct Running {
    child: Child,
    url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str], secret: Option<&str>) -> Running {
    let mut command = Command::new(BIN);
    command
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .env_remove("ACWING_SIM_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(secret) = secret {
        command.env("ACWING_SIM_SECRET", secret);
    }
    let mut child = command.spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {first:?}"))
        .to_owned();
    Running { child, url }
}

/// What the window page is given as jQuery in these tests.
const FAKE_JQUERY: &str = "window.$ = function () {}; // a stand-in for jQuery";

#[tokio::test]
async fn it_serves_a_registered_acapp_with_the_users_of_a_file() {
    let dir = std::env::temp_dir().join(format!("acwing-sim-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A stand-in for jQuery: the simulator serves whatever file it is given.
    let jquery_file = dir.join("jquery.min.js");
    std::fs::write(&jquery_file, FAKE_JQUERY).unwrap();
    let users = dir.join("users.toml");
    std::fs::write(
        &users,
        "[[users]]\nopenid = \"openid-z\"\nusername = \"<z>\"\n",
    )
    .unwrap();
    let sim = spawn(
        &[
            "--appid",
            "777",
            "--users",
            users.to_str().unwrap(),
            "--acapp-js",
            "http://127.0.0.1:9/static/game.js",
            "--acapp-class",
            "MyGame",
            "--jquery",
            jquery_file.to_str().unwrap(),
        ],
        Some("bin-secret"),
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let window = http
        .get(format!("{}/acapp/", sim.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(window.contains(r#""module":"http://127.0.0.1:9/static/game.js""#));
    assert!(window.contains(r#""className":"MyGame""#));
    assert!(
        window.contains("/__sim/jquery.min.js"),
        "the jQuery it was given"
    );
    assert!(window.contains("&lt;z&gt;"), "the file's user, escaped");
    let jquery = http
        .get(format!("{}/__sim/jquery.min.js", sim.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(jquery, FAKE_JQUERY);

    // The app's domain came from the JS URL: 127.0.0.1, any port.
    let consent = |redirect: &str| {
        format!(
            "{}/third_party/api/oauth2/web/authorize/?appid=777&scope=userinfo&state=s&redirect_uri={}",
            sim.url,
            url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
        )
    };
    let ours = http
        .get(consent("http://127.0.0.1:8000/receive/"))
        .send()
        .await
        .unwrap();
    assert_eq!(ours.status(), 200);
    assert!(ours.text().await.unwrap().contains("openid-z"));
    let foreign: Value = http
        .get(consent("http://localhost:8000/receive/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(foreign["errcode"], "40003");

    // The secret from the environment works, and is not in the log.
    let resp: Value = http
        .get(format!(
            "{}/third_party/api/oauth2/access_token/?appid=777&secret=bin-secret&code=nope",
            sim.url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        resp["errcode"], 40001,
        "the secret matched; the code did not"
    );
    let log = http
        .get(format!("{}/__sim/log", sim.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!log.contains("bin-secret"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_bad_command_line_stops_with_one_line_and_exit_code_2() {
    let run = |args: &[&str], secret: Option<&str>| {
        let mut command = Command::new(BIN);
        command.args(args).env_remove("ACWING_SIM_SECRET");
        if let Some(secret) = secret {
            command.env("ACWING_SIM_SECRET", secret);
        }
        let output = command.output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["--bind", "127.0.0.1:0"], None);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("ACWING_SIM_SECRET"), "{stderr}");
    let (code, stderr) = run(&["--users", "/nonexistent/u.toml"], Some("s"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("/nonexistent/u.toml"), "{stderr}");
    let (code, stderr) = run(&["--acapp-js", "game.js"], Some("s"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--acapp-js"), "{stderr}");
}
