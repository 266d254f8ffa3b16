//! The built frontend: `/` for the standalone site, `/acapp/<file>` for the
//! module AcWing loads and everything it loads. Until the frontend is built,
//! `/` serves a small page that still runs the web flow, so a fresh
//! checkout can log in.
//!
//! `cargo xtask dist` writes a `.br` and a `.gz` beside every file; we send
//! the best one the client accepts, with `Content-Encoding` and
//! `Vary: Accept-Encoding`, and actix-files adds the validators (`ETag`,
//! `Last-Modified`) and answers conditional requests. Files with a content
//! hash in their name never change, so browsers may keep them for a year;
//! the entry files keep their names across deploys and are revalidated.

use std::path::{Path, PathBuf};

use actix_files::NamedFile;
use actix_web::http::header::{self, ContentEncoding, HeaderValue};
use actix_web::{guard, web, HttpRequest, HttpResponse};

pub struct StaticDir(pub PathBuf);

const FALLBACK_PAGE: &str = include_str!("fallback.html");

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

async fn index(req: HttpRequest, dir: web::Data<StaticDir>) -> HttpResponse {
    match serve(&req, &dir.0.join("index.html")).await {
        Some(response) => response,
        None => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, REVALIDATE))
            .body(FALLBACK_PAGE),
    }
}

/// `GET`/`HEAD /` and `/index.html`: the standalone site.
pub fn index_page() -> actix_web::Resource {
    web::resource(["/", "/index.html"]).route(get_or_head().to(index))
}

/// `GET`/`HEAD /favicon.ico`, which every browser asks for: the app has no
/// icon, and saying so (204, cached for a day) beats a 404 in every log
/// and audit.
pub fn favicon() -> actix_web::Resource {
    web::resource("/favicon.ico").route(get_or_head().to(|| async {
        HttpResponse::NoContent()
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .finish()
    }))
}

/// `GET`/`HEAD /acapp/{file}`: one file name, no sub-folders.
pub fn acapp_files() -> actix_web::Resource {
    web::resource("/acapp/{file}").route(get_or_head().to(acapp_file))
}

fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

async fn acapp_file(
    req: HttpRequest,
    file: web::Path<String>,
    dir: web::Data<StaticDir>,
) -> HttpResponse {
    let found = match safe_name(&file) {
        Some(name) => serve(&req, &dir.0.join("acapp").join(name)).await,
        None => None,
    };
    found.unwrap_or_else(|| HttpResponse::NotFound().finish())
}

/// A plain file name of ours: no path separators, no dot files, no `..`,
/// and not one of the precompressed copies (they are chosen, not named).
fn safe_name(name: &str) -> Option<&str> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    let compressed = name.ends_with(".br") || name.ends_with(".gz");
    (plain && !compressed).then_some(name)
}

/// `frontend-0123456789abcdef.wasm`: a stem ending in a 16-hex-digit hash.
fn content_hashed(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or("");
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The encodings the client accepts, best first among the ones we store.
fn preferred(accept: Option<&HeaderValue>) -> Vec<ContentEncoding> {
    let accept = accept.and_then(|v| v.to_str().ok()).unwrap_or("");
    let q = |coding: &str| -> f32 {
        let mut wildcard = None;
        for part in accept.split(',') {
            let mut fields = part.split(';');
            let name = fields.next().unwrap_or("").trim();
            let weight = fields
                .filter_map(|f| f.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if name.eq_ignore_ascii_case(coding) {
                return weight;
            }
            if name == "*" {
                wildcard = Some(weight);
            }
        }
        wildcard.unwrap_or(0.0)
    };
    let mut options: Vec<(ContentEncoding, f32)> = [
        (ContentEncoding::Brotli, q("br")),
        (ContentEncoding::Gzip, q("gzip")),
    ]
    .into_iter()
    .filter(|(_, weight)| *weight > 0.0)
    .collect();
    // Stable: brotli wins a tie (it is smaller).
    options.sort_by(|a, b| b.1.total_cmp(&a.1));
    options.into_iter().map(|(encoding, _)| encoding).collect()
}

/// The file at `path`, or its best precompressed copy; `None` if absent.
async fn serve(req: &HttpRequest, path: &Path) -> Option<HttpResponse> {
    let name = path.file_name()?.to_str()?;
    let mime = actix_files::file_extension_to_mime(path.extension()?.to_str()?);
    let mut chosen = None;
    // A range is a range of the plain file: actix-files would label a slice
    // of the compressed copy `identity`.
    let accepted = if req.headers().contains_key(header::RANGE) {
        Vec::new()
    } else {
        preferred(req.headers().get(header::ACCEPT_ENCODING))
    };
    for encoding in accepted {
        let suffix = match encoding {
            ContentEncoding::Brotli => "br",
            _ => "gz",
        };
        if let Ok(file) =
            NamedFile::open_async(path.with_file_name(format!("{name}.{suffix}"))).await
        {
            chosen = Some(file.set_content_encoding(encoding));
            break;
        }
    }
    let file = match chosen {
        Some(file) => file,
        None => NamedFile::open_async(path).await.ok()?,
    };
    let mut response = file
        .set_content_type(mime)
        .disable_content_disposition()
        .into_response(req);
    let cache = if content_hashed(name) {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    Some(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_a_content_hash_are_recognised() {
        assert!(content_hashed("frontend-0123456789abcdef.wasm"));
        assert!(content_hashed("frontend-0123456789abcdef.js"));
        assert!(!content_hashed("game.js"));
        assert!(!content_hashed("frontend.js"));
        assert!(!content_hashed("frontend-0123.js"));
    }

    #[test]
    fn only_plain_file_names_are_served() {
        assert_eq!(safe_name("game.js"), Some("game.js"));
        for bad in [
            "",
            ".env",
            "..",
            "a/b",
            "a\\b",
            "game.js.br",
            "x.gz",
            "%2e%2e",
        ] {
            assert_eq!(safe_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn accept_encoding_is_ranked_with_q_values() {
        let rank = |v: &str| preferred(Some(&HeaderValue::from_str(v).unwrap()));
        use ContentEncoding::{Brotli, Gzip};
        assert_eq!(rank("gzip, deflate, br"), vec![Brotli, Gzip]);
        assert_eq!(rank("gzip, deflate"), vec![Gzip]);
        assert_eq!(rank("br;q=0, gzip"), vec![Gzip]);
        assert_eq!(rank("gzip;q=1.0, br;q=0.5"), vec![Gzip, Brotli]);
        assert_eq!(rank("*"), vec![Brotli, Gzip]);
        assert_eq!(rank("identity"), Vec::<ContentEncoding>::new());
        assert_eq!(preferred(None), Vec::<ContentEncoding>::new());
    }
}
