//! The built frontend: `/` for the standalone site, `/acapp/` for the
//! module AcWing loads. Until the frontend is built, `/` serves a small
//! page that still runs the web flow, so a fresh checkout can log in.

use std::path::PathBuf;

use actix_web::{web, HttpResponse};

pub struct StaticDir(pub PathBuf);

const FALLBACK_PAGE: &str = include_str!("fallback.html");

pub async fn index(dir: web::Data<StaticDir>) -> HttpResponse {
    let page = tokio::fs::read_to_string(dir.0.join("index.html")).await;
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-cache"))
        .body(page.unwrap_or_else(|_| FALLBACK_PAGE.to_owned()))
}

pub fn acapp_files(dir: &StaticDir) -> actix_files::Files {
    actix_files::Files::new("/acapp", dir.0.join("acapp"))
}
