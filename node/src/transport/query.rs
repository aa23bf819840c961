//! Asking a node a question over zenoh and reading its JSON answer: the
//! client side of `fusion/<node>/stats` and the admin keys.

use std::time::Duration;

use serde_json::Value;
use zenoh::Session;
use zenoh::Wait;
use zenoh::key_expr::KeyExpr;

/// The first JSON answer to a query on `key` within `timeout`, with
/// `payload` and `attachment` sent along; `Ok(None)` when nobody answered.
/// An error reply is returned as `Err` with its text, prefixed `the node
/// answered: `.
pub fn query_json(
    session: &Session,
    key: KeyExpr<'static>,
    payload: Option<Vec<u8>>,
    attachment: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<Option<Value>, String> {
    let mut get = session.get(key).timeout(timeout);
    if let Some(payload) = payload {
        get = get.payload(payload);
    }
    if let Some(attachment) = attachment {
        get = get.attachment(attachment);
    }
    let replies = get.wait().map_err(|e| e.to_string())?;
    // The first reply decides; without one the query timed out.
    let Ok(reply) = replies.recv() else {
        return Ok(None);
    };
    match reply.result() {
        Ok(sample) => {
            let bytes = sample.payload().to_bytes();
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("the node's answer is not JSON: {e}"))
        }
        Err(e) => {
            // Said as the node's words, not this tool's.
            let text = e.payload().try_to_string().map(|s| s.into_owned());
            Err(format!(
                "the node answered: {}",
                text.unwrap_or_else(|_| "an error reply that is not text".into())
            ))
        }
    }
}
