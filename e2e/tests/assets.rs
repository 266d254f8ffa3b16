//! The built bundle over HTTP, as a browser fetches it: precompressed
//! variants picked by `Accept-Encoding`, validators, cache rules, MIME
//! types and CORS for the AcWing origin. Needs `dist/` (`cargo xtask dist`).

use e2e::{backend, workspace, Options};
use reqwest::header::{HeaderMap, ACCEPT_ENCODING, ORIGIN};
use reqwest::StatusCode;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

#[actix_web::test]
async fn the_bundle_is_served_compressed_with_validators_and_cache_rules() {
    let server = backend(&Options::default()).await;
    let http = reqwest::Client::new();
    let game = std::fs::read_to_string(workspace().join("dist/acapp/game.js")).unwrap();
    // The names game.js loads, read from the built game.js.
    let names: Vec<String> = game
        .match_indices("\"./frontend-")
        .map(|(at, _)| {
            let rest = &game[at + 3..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect();
    assert_eq!(names.len(), 2, "game.js names its glue and its wasm");
    let wasm = names.iter().find(|n| n.ends_with(".wasm")).unwrap();
    let glue = names.iter().find(|n| n.ends_with(".js")).unwrap();

    let get = |path: String, accept: &'static str| {
        let http = http.clone();
        let url = format!("{}{path}", server.app);
        async move {
            http.get(url)
                .header(ACCEPT_ENCODING, accept)
                .header(ORIGIN, "https://www.acwing.com")
                .send()
                .await
                .unwrap()
        }
    };

    // Brotli when offered, gzip otherwise, identity when neither.
    let raw_wasm = std::fs::read(workspace().join("dist/acapp").join(wasm)).unwrap();
    for (accept, encoding, suffix) in [
        ("gzip, deflate, br", "br", ".br"),
        ("gzip, deflate", "gzip", ".gz"),
        ("identity", "", ""),
    ] {
        let response = get(format!("/acapp/{wasm}"), accept).await;
        assert_eq!(response.status(), StatusCode::OK, "{accept}");
        let headers = response.headers().clone();
        assert_eq!(header(&headers, "content-encoding"), encoding, "{accept}");
        assert_eq!(header(&headers, "content-type"), "application/wasm");
        assert!(
            header(&headers, "vary").contains("Accept-Encoding"),
            "{headers:?}"
        );
        assert_eq!(
            header(&headers, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            "https://www.acwing.com"
        );
        assert!(!header(&headers, "etag").is_empty(), "{headers:?}");
        let body = response.bytes().await.unwrap();
        let stored = std::fs::read(
            workspace()
                .join("dist/acapp")
                .join(format!("{wasm}{suffix}")),
        )
        .unwrap();
        assert_eq!(body.as_ref(), stored.as_slice(), "{accept}");
        if suffix.is_empty() {
            assert_eq!(body.as_ref(), raw_wasm.as_slice());
        } else {
            assert!(body.len() < raw_wasm.len() / 2, "{accept}: compressed");
        }
    }

    // The validator works: a revalidation costs no body.
    let first = get(format!("/acapp/{glue}"), "br").await;
    let etag = header(first.headers(), "etag").to_owned();
    assert!(header(first.headers(), "content-type").contains("javascript"));
    let again = http
        .get(format!("{}/acapp/{glue}", server.app))
        .header(ACCEPT_ENCODING, "br")
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // A range is a range of the plain file, whatever the client accepts.
    let range = http
        .get(format!("{}/acapp/{wasm}", server.app))
        .header(ACCEPT_ENCODING, "gzip, br")
        .header("Range", "bytes=0-10")
        .send()
        .await
        .unwrap();
    assert_eq!(range.status(), StatusCode::PARTIAL_CONTENT);
    assert!(matches!(
        header(range.headers(), "content-encoding"),
        "" | "identity"
    ));
    assert_eq!(range.bytes().await.unwrap().as_ref(), &raw_wasm[..11]);

    // The stable entry files and the page are revalidated on every use,
    // and HEAD answers as GET does.
    for path in ["/acapp/game.js", "/acapp/game.css", "/", "/index.html"] {
        let head = http
            .head(format!("{}{path}", server.app))
            .header(ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::OK, "HEAD {path}");
        assert_eq!(
            header(head.headers(), "cache-control"),
            "no-cache",
            "HEAD {path}"
        );
        let response = get(path.to_owned(), "gzip").await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert_eq!(header(headers, "cache-control"), "no-cache", "{path}");
        assert_eq!(header(headers, "content-encoding"), "gzip", "{path}");
        assert!(
            !header(headers, "etag").is_empty() || !header(headers, "last-modified").is_empty(),
            "{path}: {headers:?}"
        );
    }

    // Nothing outside the bundle, and no stored variant by its own name.
    for path in [
        "/acapp/../Cargo.toml".to_owned(),
        "/acapp/%2e%2e%2fCargo.toml".to_owned(),
        format!("/acapp/{wasm}.br"),
        "/acapp/missing.js".to_owned(),
    ] {
        let status = get(path.clone(), "br").await.status();
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}
