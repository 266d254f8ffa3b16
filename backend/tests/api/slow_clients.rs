//! Slow and greedy clients over raw loopback TCP: a request that trickles in after the first
//! one, a body that trickles in, too many connections from one address, and the legitimate slow
//! cases that must not be cut (keep-alive pauses, a handler waiting on a slow AcWing).

use std::time::{Duration, Instant};

use crate::support::{spawn, spawn_with, Options, TestApp};
use backend::client_ip::TrustedProxies;
use backend::config::LimitSettings;
use shared::api::paths;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};

/// What the issue requires: a trickling connection is gone within this.
const CLOSE_LIMIT: Duration = Duration::from_secs(40);
const TRICKLE_EVERY: Duration = Duration::from_secs(2);
/// Every test is over well before this, or has failed.
const TEST_LIMIT: Duration = Duration::from_secs(55);

fn healthz() -> Vec<u8> {
    format!("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", paths::HEALTHZ).into_bytes()
}

/// The head of a refresh whose 100-byte body is still to come.
fn refresh_head() -> Vec<u8> {
    format!(
        "POST {} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
        paths::TOKEN_REFRESH
    )
    .into_bytes()
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// One whole answer (head and `Content-Length` body); panics if the connection closes first.
async fn read_answer(stream: &mut TcpStream) -> String {
    let read = async {
        let mut seen = Vec::new();
        loop {
            if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length:"))
                    .map_or(0, |n| n.trim().parse::<usize>().unwrap());
                if seen.len() >= end + 4 + length {
                    return String::from_utf8_lossy(&seen).into_owned();
                }
            }
            let mut chunk = [0; 4096];
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            assert!(
                n > 0,
                "closed before a whole answer: {:?}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&chunk[..n]);
        }
    };
    timeout(Duration::from_secs(10), read)
        .await
        .expect("an answer within 10 s")
}

async fn ask(stream: &mut TcpStream, request: &[u8]) -> String {
    stream.write_all(request).await.unwrap();
    read_answer(stream).await
}

/// Sends `bytes` one every `TRICKLE_EVERY` until the server closes the connection. Returns how
/// long after the first trickled byte that was, and what the server sent meanwhile; panics if
/// the connection is still open after `CLOSE_LIMIT`.
async fn trickle_until_closed(stream: TcpStream, bytes: &[u8]) -> (Duration, String) {
    let (mut reader, mut writer) = stream.into_split();
    let started = Instant::now();
    let trickle = async {
        for byte in bytes {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            sleep(TRICKLE_EVERY).await;
        }
        std::future::pending::<()>().await
    };
    let closed = async {
        let mut seen = Vec::new();
        let mut chunk = [0; 1024];
        // A reset counts: the server may close with our bytes unread.
        while let Ok(n @ 1..) = reader.read(&mut chunk).await {
            seen.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&seen).into_owned()
    };
    let seen = timeout(CLOSE_LIMIT, async {
        tokio::select! {
            seen = closed => seen,
            () = trickle => unreachable!(),
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the connection was still open after {CLOSE_LIMIT:?}"));
    (started.elapsed(), seen)
}

/// Nothing, or actix's own 408: never an answer to the trickled request.
fn assert_unanswered(seen: &str) {
    assert!(
        seen.is_empty() || seen.starts_with("HTTP/1.1 408"),
        "{seen}"
    );
}

#[actix_web::test]
async fn a_trickled_second_request_head_is_cut_off() {
    timeout(TEST_LIMIT, async {
        let app = spawn().await;
        let mut stream = connect(&app).await;
        let first = ask(&mut stream, &healthz()).await;
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        // 35 bytes at one every 2 s would take 70 s.
        let (after, seen) = trickle_until_closed(stream, &healthz()).await;
        println!("a trickled second request head: closed after {after:.1?}");
        assert_unanswered(&seen);
    })
    .await
    .expect("the test finished in time");
}

#[actix_web::test]
async fn a_trickled_body_is_cut_off_in_the_first_and_a_later_request() {
    timeout(TEST_LIMIT, async {
        let app = spawn().await;
        // 100 bytes at one every 2 s would take 200 s.
        let body = [b'x'; 100];
        let first = async {
            let mut stream = connect(&app).await;
            stream.write_all(&refresh_head()).await.unwrap();
            trickle_until_closed(stream, &body).await
        };
        let later = async {
            let mut stream = connect(&app).await;
            let answer = ask(&mut stream, &healthz()).await;
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            stream.write_all(&refresh_head()).await.unwrap();
            trickle_until_closed(stream, &body).await
        };
        let ((first_after, first_seen), (later_after, later_seen)) = tokio::join!(first, later);
        println!(
            "a trickled body: closed after {first_after:.1?} (first request), \
             {later_after:.1?} (second request)"
        );
        assert_unanswered(&first_seen);
        assert_unanswered(&later_seen);
    })
    .await
    .expect("the test finished in time");
}

#[actix_web::test]
async fn connections_per_address_are_capped_and_freed_when_closed() {
    timeout(TEST_LIMIT, async {
        let app = spawn_with(Options {
            limits: LimitSettings {
                connections_per_client: 8,
                ..LimitSettings::default()
            },
            ..Options::default()
        })
        .await;
        let mut held = Vec::new();
        for _ in 0..8 {
            let mut stream = connect(&app).await;
            let answer = ask(&mut stream, &healthz()).await;
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            held.push(stream);
        }

        // The ninth is accepted by the kernel, then closed unanswered.
        let mut ninth = connect(&app).await;
        let _ = ninth.write_all(&healthz()).await;
        let mut seen = Vec::new();
        let closed = timeout(Duration::from_secs(10), async {
            let mut chunk = [0; 1024];
            while let Ok(n @ 1..) = ninth.read(&mut chunk).await {
                seen.extend_from_slice(&chunk[..n]);
            }
        })
        .await;
        assert!(closed.is_ok(), "the ninth connection was kept open");
        assert!(seen.is_empty(), "{}", String::from_utf8_lossy(&seen));

        // The eight still work.
        for stream in &mut held {
            let answer = ask(stream, &healthz()).await;
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        }

        // Once they are closed, their slots are free again.
        drop(held);
        let started = Instant::now();
        loop {
            let mut stream = connect(&app).await;
            let _ = stream.write_all(&healthz()).await;
            let mut first = [0; 12];
            if stream.read_exact(&mut first).await.is_ok() {
                assert_eq!(&first, b"HTTP/1.1 200");
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the closed connections were still counted"
            );
            sleep(Duration::from_millis(50)).await;
        }
        println!(
            "slots freed {:.1?} after the eight closed",
            started.elapsed()
        );
    })
    .await
    .expect("the test finished in time");
}

#[actix_web::test]
async fn a_trusted_proxy_is_not_capped() {
    timeout(TEST_LIMIT, async {
        let app = spawn_with(Options {
            limits: LimitSettings {
                connections_per_client: 2,
                trusted_proxies: TrustedProxies::parse("127.0.0.1").unwrap(),
                ..LimitSettings::default()
            },
            ..Options::default()
        })
        .await;
        let mut held = Vec::new();
        for _ in 0..6 {
            let mut stream = connect(&app).await;
            let answer = ask(&mut stream, &healthz()).await;
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            held.push(stream);
        }
    })
    .await
    .expect("the test finished in time");
}

#[actix_web::test]
async fn a_keep_alive_connection_with_pauses_between_requests_keeps_working() {
    timeout(TEST_LIMIT, async {
        let app = spawn().await;
        let mut stream = connect(&app).await;
        for i in 0..3 {
            if i > 0 {
                sleep(Duration::from_secs(3)).await;
            }
            let answer = ask(&mut stream, &healthz()).await;
            assert!(answer.starts_with("HTTP/1.1 200"), "request {i}: {answer}");
        }
    })
    .await
    .expect("the test finished in time");
}

/// A stand-in for AcWing that answers every request after `delay`, with a 503.
async fn slow_acwing(delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    actix_web::rt::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            actix_web::rt::spawn(async move {
                let mut request = [0; 4096];
                let _ = stream.read(&mut request).await;
                sleep(delay).await;
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\
                          Connection: close\r\n\r\n",
                    )
                    .await;
            });
        }
    });
    format!("http://{address}/")
}

#[actix_web::test]
async fn a_handler_slower_than_the_receive_deadline_is_not_cut_off() {
    timeout(TEST_LIMIT, async {
        let delay = Duration::from_secs(12);
        let app = spawn_with(Options {
            acwing_base_url: Some(slow_acwing(delay).await),
            acwing_timeout: Duration::from_secs(30),
            ..Options::default()
        })
        .await;
        let (state, _) = app.acapp_apply().await;
        let mut stream = connect(&app).await;
        let request = format!(
            "GET {}?code=abc&state={state} HTTP/1.1\r\nHost: x\r\n\
             Origin: https://www.acwing.com\r\n\r\n",
            paths::ACAPP_RECEIVE_CODE
        );
        let started = Instant::now();
        stream.write_all(request.as_bytes()).await.unwrap();
        let answer = timeout(Duration::from_secs(30), read_answer_slowly(&mut stream))
            .await
            .expect("an answer");
        let took = started.elapsed();
        println!("a login waiting {delay:?} on AcWing answered after {took:.1?}");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("acwing_unavailable"), "{answer}");
        assert!(took >= delay, "AcWing was not waited for: {took:?}");
        // And the connection is still good for another request.
        let again = ask(&mut stream, &healthz()).await;
        assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    })
    .await
    .expect("the test finished in time");
}

/// `read_answer` without its 10 s bound: the first byte comes when the handler is done.
async fn read_answer_slowly(stream: &mut TcpStream) -> String {
    let mut first = [0; 1];
    stream
        .peek(&mut first)
        .await
        .expect("the connection stayed open while the handler ran");
    read_answer(stream).await
}
