//! A tenant's backend receiving Chalk webhooks with axum: the handler checks the signature
//! and the timestamp with `chalk_sdk::webhooks::verify` (no crypto written here) and gets
//! a typed event.
//!
//! ```sh
//! export CHALK_WEBHOOK_SECRET=whsec_...        # shown once when the endpoint was created
//! export CHALK_WEBHOOK_PREVIOUS_SECRET=whsec_... # optional, while you rotate
//! cargo run --example webhook_receiver -- 127.0.0.1:3000
//! ```
//!
//! Point an endpoint at `http(s)://<this host>/chalk/webhooks`. The handler answers 204
//! for an event it accepted (Chalk then stops retrying), 400 for a delivery that fails
//! verification (a forgery, a replay older than 5 minutes) and 500 when handling fails, so
//! that Chalk retries later with the same `webhook-id`. Deliveries arrive at least once:
//! a real receiver remembers the ids it handled and skips repeats, as this one does in
//! memory.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use chalk_sdk::webhooks::{self, Event};

#[derive(Clone)]
struct Receiver {
    /// The current secret, and the previous one during a rotation's overlap.
    secrets: Arc<Vec<String>>,
    handled: Arc<Mutex<HashSet<String>>>,
}

async fn chalk_webhook(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    // Verify the raw body exactly as received: re-serialized JSON would not match.
    let event = match webhooks::verify(receiver.secrets.as_slice(), &headers, &body) {
        Ok(event) => event,
        Err(refused) => {
            eprintln!("refused a delivery: {refused}");
            return StatusCode::BAD_REQUEST;
        }
    };
    if !receiver
        .handled
        .lock()
        .expect("not poisoned")
        .insert(event.id().to_owned())
    {
        return StatusCode::NO_CONTENT; // a repeat of one already handled
    }
    match &event {
        Event::MeetingEnded(meeting) => println!(
            "meeting in {} ended with {} attendees",
            meeting.data.room.id,
            meeting.data.attendance.len()
        ),
        Event::RoomEnded(room) => println!("room {} ended", room.data.id),
        Event::ParticipantJoined(joined) => println!(
            "{} joined {}",
            joined.data.participant.display_name, joined.data.room_id
        ),
        Event::ApiKeyExpiring(expiring) => println!(
            "API key {} expires in {}",
            expiring.data.api_key.id, expiring.data.expires_in
        ),
        Event::WebhookTest(_) => println!("test event received"),
        other => println!("{} {}", other.event_type(), other.id()),
    }
    StatusCode::NO_CONTENT
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let mut secrets = vec![
        std::env::var("CHALK_WEBHOOK_SECRET")
            .map_err(|_| "set CHALK_WEBHOOK_SECRET to the endpoint's whsec_ secret")?,
    ];
    if let Ok(previous) = std::env::var("CHALK_WEBHOOK_PREVIOUS_SECRET") {
        secrets.push(previous);
    }
    let receiver = Receiver {
        secrets: Arc::new(secrets),
        handled: Arc::default(),
    };
    let app = Router::new()
        .route("/chalk/webhooks", post(chalk_webhook))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!(
        "listening on http://{}/chalk/webhooks",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
