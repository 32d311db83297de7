//! Walking every page of a list: a stream that follows `next_cursor`.

use std::collections::VecDeque;

use futures_util::Stream;
use futures_util::stream;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::Result;
use crate::model::{ListAuditEventsQuery, ListQuery, ListRoomsQuery, ListTenantsQuery, Page};

/// A list query whose `cursor` the stream advances.
pub(crate) trait CursorQuery {
    fn cursor(&self) -> Option<&str>;
    fn set_cursor(&mut self, cursor: String);
}

impl CursorQuery for ListTenantsQuery {
    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
    fn set_cursor(&mut self, cursor: String) {
        self.cursor = Some(cursor);
    }
}

impl CursorQuery for ListQuery {
    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
    fn set_cursor(&mut self, cursor: String) {
        self.cursor = Some(cursor);
    }
}

impl CursorQuery for ListAuditEventsQuery {
    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
    fn set_cursor(&mut self, cursor: String) {
        self.cursor = Some(cursor);
    }
}

impl CursorQuery for ListRoomsQuery {
    fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }
    fn set_cursor(&mut self, cursor: String) {
        self.cursor = Some(cursor);
    }
}

struct Walk<T, Q> {
    client: Client,
    segments: Vec<String>,
    query: Q,
    buffer: VecDeque<T>,
    done: bool,
}

/// Every item of `GET /api/v1/{segments}`, page after page, starting at `query.cursor`.
/// The first error ends the stream.
pub(crate) fn walk<T, Q>(
    client: Client,
    segments: Vec<String>,
    query: Q,
) -> impl Stream<Item = Result<T>> + Send + 'static
where
    T: DeserializeOwned + Send + 'static,
    Q: CursorQuery + Serialize + Send + 'static,
{
    let start = Walk {
        client,
        segments,
        query,
        buffer: VecDeque::new(),
        done: false,
    };
    stream::unfold(start, |mut walk| async move {
        loop {
            if let Some(item) = walk.buffer.pop_front() {
                return Some((Ok(item), walk));
            }
            if walk.done {
                return None;
            }
            let segments: Vec<&str> = walk.segments.iter().map(String::as_str).collect();
            let page = walk
                .client
                .call(Method::GET, &segments)
                .query(&walk.query)
                .send()
                .await
                .and_then(|raw| raw.decode::<Page<T>>());
            match page {
                Ok(page) => {
                    walk.buffer.extend(page.data);
                    match page.next_cursor {
                        // A server that hands back the cursor it was given would loop forever.
                        Some(next) if Some(next.as_str()) != walk.query.cursor() => {
                            walk.query.set_cursor(next)
                        }
                        _ => walk.done = true,
                    }
                }
                Err(e) => {
                    walk.done = true;
                    return Some((Err(e), walk));
                }
            }
        }
    })
}
