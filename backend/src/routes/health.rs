use actix_web::HttpResponse;
use shared::api::Done;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Done::default())
}
