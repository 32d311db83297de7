//! The reference server of `bench/run`: a bare axum handler returning a tenant-sized JSON
//! body, in a process of its own. What an API endpoint on this machine can approach.
//!
//! `cargo run --release --example bench_reference -- 127.0.0.1:18081`

use axum::Router;
use axum::http::header;
use axum::routing::get;

/// A `GET /tenants/{id}` body of a tenant with the default config (about the same size).
const BODY: &str = r#"{"data":{"id":"ten_4pTq2kHcW8bZyR1xNfL0aJ","name":"Bench University","email":null,"external_id":null,"status":"active","max_concurrent_rooms":100000,"max_participants_per_room":10000,"max_recording_duration_minutes":120,"rate_limit_per_minute":1000000,"config":{"recording_enabled":false,"force_recording":false,"allow_early_join":true,"empty_room_timeout_minutes":10,"duplicate_participant_policy":"reject","allowed_origins":[],"default_room_settings":{"max_participants":null,"video_quality":"hd","chat_enabled":true,"screen_share_enabled":true},"post_meeting_webhook":null,"branding":{"logo_url":null,"primary_color":null}},"usage":{"active_rooms":0,"total_rooms":0,"active_participants":0,"api_keys":1},"created_at":"2026-11-25T22:00:00Z","updated_at":"2026-11-25T22:00:00Z"}}"#;

#[tokio::main]
async fn main() {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18081".to_owned());
    let app = Router::new().route(
        "/{*path}",
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], BODY) }),
    );
    let listener = tokio::net::TcpListener::bind(&address).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
