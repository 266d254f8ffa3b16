//! Headers every answer carries, and the limits on what a request may be.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, ResponseError};
use base64::Engine;
use sha2::{Digest, Sha256};
use shared::api::{paths, ErrorBody};
use shared::ErrorCode;

use crate::http::error::AppError;

/// AcWing's callback carries a code, a state and perhaps an errmsg: a few
/// hundred bytes. Twice a kilobyte is generous and keeps hostile values
/// from reaching the parsers.
pub const MAX_QUERY_BYTES: usize = 2048;
/// Our longest path is about 40 bytes; static file names are short too.
pub const MAX_PATH_BYTES: usize = 512;
/// Any request body (a refresh is a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 4096;

/// The Content-Security-Policy for every answer. `pages` are the HTML
/// documents we serve; each inline `<script>` and `<style>` in them is
/// allowed by its hash, and nothing else inline is.
///
/// - `script-src 'self' 'wasm-unsafe-eval'`: our module, its glue, and
///   compiling our wasm; no `eval`, no other inline script.
/// - `img-src 'self' http: https:`: AcWing's avatars live on AcWing's CDN;
///   the default avatar is inline SVG, so no `data:` image is needed.
/// - `connect-src 'self'`: the API and the wasm fetch are same-origin.
/// - `frame-ancestors 'none'`: nobody frames the standalone site (the
///   AcApp runs inside AcWing's document, where this policy does not apply).
pub fn content_security_policy(pages: &[&str]) -> String {
    let mut scripts = Vec::new();
    let mut styles = Vec::new();
    for page in pages {
        scripts.extend(inline_blocks(page, "script").map(sha256_source));
        styles.extend(inline_blocks(page, "style").map(sha256_source));
    }
    scripts.sort();
    scripts.dedup();
    styles.sort();
    styles.dedup();
    let join = |sources: &[String]| sources.iter().map(|s| format!(" {s}")).collect::<String>();
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'{}; style-src 'self'{}; \
         img-src 'self' http: https:; connect-src 'self'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'",
        join(&scripts),
        join(&styles)
    )
}

fn sha256_source(content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The text of each `<tag …>…</tag>` without a `src` attribute, exactly as
/// the browser hashes it.
fn inline_blocks<'a>(html: &'a str, tag: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut rest = html;
    std::iter::from_fn(move || loop {
        let start = find_ci(rest, &open)?;
        let after = &rest[start + open.len()..];
        // `<scripts>` or `<style-x>` are other tags.
        if !after.starts_with(['>', ' ', '\t', '\n', '\r']) {
            rest = after;
            continue;
        }
        let tag_end = after.find('>')?;
        let attributes = &after[..tag_end];
        let body = &after[tag_end + 1..];
        let end = find_ci(body, &close)?;
        rest = &body[end + close.len()..];
        if !attributes.to_ascii_lowercase().contains("src=") {
            return Some(&body[..end]);
        }
    })
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Refuses a request whose path or query is longer than any of ours needs,
/// before a handler or parser sees it. Both receive_codes keep their
/// contracts: the web one sends the browser to `/?login_error=…`, the AcApp
/// one answers HTTP 200 with the error in the body.
pub async fn limit_request_line(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if req.query_string().len() <= MAX_QUERY_BYTES && req.path().len() <= MAX_PATH_BYTES {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    tracing::info!(
        query_bytes = req.query_string().len(),
        path_bytes = req.path().len(),
        "request line too long; refused"
    );
    let error = AppError::new(
        ErrorCode::InvalidRequest,
        "The request's address is far longer than any this server answers.",
    );
    let response = match req.path() {
        paths::ACAPP_RECEIVE_CODE => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .json(ErrorBody::new(error.code, error.message)),
        paths::WEB_RECEIVE_CODE => HttpResponse::Found()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .insert_header((
                header::LOCATION,
                format!("/?{}={}", paths::LOGIN_ERROR_PARAM, error.code),
            ))
            .finish(),
        _ => error.error_response(),
    };
    Ok(req.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_and_styles_are_hashed_and_external_ones_are_not() {
        let page = r#"<style>a{}</style><script type="module">run()</script>
            <script src="/x.js"></script><SCRIPT>b()</SCRIPT><scripts>no</scripts>"#;
        let scripts: Vec<_> = inline_blocks(page, "script").collect();
        assert_eq!(scripts, ["run()", "b()"]);
        assert_eq!(inline_blocks(page, "style").collect::<Vec<_>>(), ["a{}"]);
        let csp = content_security_policy(&[page]);
        assert!(csp.contains(&sha256_source("run()")), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }

    #[test]
    fn a_known_hash_matches_what_browsers_compute() {
        // `echo -n "alert('Hello, world.');" | openssl dgst -sha256 -binary | base64`
        assert_eq!(
            sha256_source("alert('Hello, world.');"),
            "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"
        );
    }

    #[test]
    fn an_unterminated_tag_ends_the_scan() {
        assert_eq!(inline_blocks("<script>never closed", "script").count(), 0);
        assert_eq!(inline_blocks("<script", "script").count(), 0);
    }
}
