//! The simulated AcApp window in the frontend dev loop (`--dev`): it
//! follows trunk's autoreload websocket as the page trunk serves does. A
//! stand-in for trunk's socket here sends what trunk sends: `reload` after
//! a good build, `buildFailure` after a bad one.

use std::sync::Arc;
use std::time::Duration;

use acwing_sim::{SimConfig, SimOptions, Simulator};
use base64::Engine;
use e2e::start;
use sha1::{Digest, Sha1};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

/// Just enough of a websocket server: the handshake, then unmasked text
/// frames to every open connection.
struct FakeTrunk {
    url: String,
    sockets: Arc<Mutex<Vec<TcpStream>>>,
    opened: Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeTrunk {
    async fn start() -> FakeTrunk {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "ws://{}/.well-known/trunk/ws",
            listener.local_addr().unwrap()
        );
        let sockets = Arc::new(Mutex::new(Vec::new()));
        let opened = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (held, count) = (sockets.clone(), opened.clone());
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut byte = [0u8; 1];
                while !request.ends_with(b"\r\n\r\n") {
                    if stream.read_exact(&mut byte).await.is_err() {
                        break;
                    }
                    request.push(byte[0]);
                }
                let request = String::from_utf8_lossy(&request).to_string();
                let Some(key) = request.lines().find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("sec-websocket-key")
                        .then(|| value.trim().to_owned())
                }) else {
                    continue;
                };
                let accept = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(
                    format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes(),
                ));
                let answer = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                );
                if stream.write_all(answer.as_bytes()).await.is_ok() {
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    held.lock().await.push(stream);
                }
            }
        });
        FakeTrunk {
            url,
            sockets,
            opened,
        }
    }

    async fn send(&self, text: &str) {
        assert!(text.len() < 126, "one short frame");
        let mut frame = vec![0x81, text.len() as u8];
        frame.extend_from_slice(text.as_bytes());
        let mut sockets = self.sockets.lock().await;
        let mut alive = Vec::new();
        for mut socket in sockets.drain(..) {
            if socket.write_all(&frame).await.is_ok() {
                alive.push(socket);
            }
        }
        *sockets = alive;
    }

    /// trunk stops (or restarts): every connection drops.
    async fn drop_all(&self) {
        self.sockets.lock().await.clear();
    }

    fn opened(&self) -> usize {
        self.opened.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A stand-in AcApp module that shows one line.
const MODULE: &str = "data:text/javascript,export%20class%20AcGame%20%7B%20constructor(id)%20%7B%20document.getElementById(id).textContent%20%3D%20'game'%3B%20%7D%20%7D";

#[actix_web::test]
async fn the_acapp_window_reloads_after_a_rebuild_and_shows_a_failed_one() {
    let s = start().await;
    let trunk = FakeTrunk::start().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sim = Simulator::start_with(
        listener,
        SimConfig {
            appid: "1000".into(),
            secret: "secret".into(),
            users: SimConfig::demo_users(),
            app_public_url: None,
        },
        SimOptions {
            live_reload: Some(trunk.url.clone()),
            ..SimOptions::default()
        },
    )
    .unwrap();
    let module: String = url::form_urlencoded::byte_serialize(MODULE.as_bytes()).collect();
    s.goto(&format!("{}/acapp/?module={module}", sim.base_url()))
        .await;
    let within = Duration::from_secs(10);
    s.until("document.body.dataset.liveReload === 'open'", within)
        .await;
    s.until(
        "document.getElementById('app-1').textContent === 'game'",
        within,
    )
    .await;

    // A good build: the page reloads itself and connects again.
    s.js("window.beforeReload = 1;").await;
    trunk.send(r#"{"type":"reload"}"#).await;
    s.until(
        "window.beforeReload === undefined && document.body.dataset.liveReload === 'open'",
        within,
    )
    .await;
    assert_eq!(trunk.opened(), 2);

    // A failed build shows over the window, which still runs the old build.
    trunk
        .send(r#"{"type":"buildFailure","data":{"reason":"error[E0425]: cannot find value"}}"#)
        .await;
    let shown = s
        .until(
            "getComputedStyle(document.getElementById('sim-build-failure')).display === 'block' \
             && document.getElementById('sim-build-failure').textContent",
            within,
        )
        .await;
    assert!(shown.as_str().unwrap().contains("error[E0425]"), "{shown}");
    s.screenshot("live-reload-build-failure").await;

    // trunk restarts: once it answers again the window reloads, since
    // trunk will have built afresh.
    s.js("window.beforeRestart = 1;").await;
    trunk.drop_all().await;
    s.until(
        "window.beforeRestart === undefined && document.body.dataset.liveReload === 'open'",
        within,
    )
    .await;
    s.until(
        "document.getElementById('app-1').textContent === 'game'",
        within,
    )
    .await;
}
