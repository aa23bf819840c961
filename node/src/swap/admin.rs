//! The node's admin keys over zenoh:
//! - `fusion/<node>/admin/deploy`: a query whose payload is a module
//!   (`.wasm`) and whose attachment, if any, is its signature, as
//!   `fusion-node deploy` sends it. The reply, once the swap is decided
//!   (after the watch), is the [`SwapOutcome`] as JSON.
//! - `fusion/<node>/admin/module`: the [`ModuleStatus`] as JSON, for
//!   `fusion-node module status`.
//!
//! Callbacks run on zenoh's threads and never wait: a deploy is queued for
//! the swapper, and a short-lived thread sends the reply when it comes.

use std::time::Duration;

use zenoh::key_expr::KeyExpr;
use zenoh::query::{Query, Queryable};
use zenoh::{Session, Wait};

use super::status::{SwapOutcome, Trigger};
use super::swapper::{SwapHandle, sha256_hex};
use crate::transport::TransportError;

/// The largest module a deploy may carry.
pub const MAX_DEPLOY_BYTES: usize = 64 << 20;

/// How long a deploy's reply thread waits for the swapper.
pub const DEPLOY_REPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// `fusion/<node>/admin/<what>`.
pub fn admin_key(node: &str, what: &str) -> Result<KeyExpr<'static>, TransportError> {
    let key = format!("fusion/{node}/admin/{what}");
    KeyExpr::try_from(key.clone()).map_err(|e| TransportError::KeyExpr {
        topic: key,
        message: e.to_string(),
    })
}

/// The admin queryables; they answer until dropped.
#[derive(Debug)]
pub struct Admin {
    _deploy: Queryable<()>,
    _status: Queryable<()>,
}

/// Declares the admin keys of the node `node` on `session`.
pub fn serve(session: &Session, node: &str, swapper: SwapHandle) -> Result<Admin, TransportError> {
    let declare = |what: &str, callback: Box<dyn Fn(Query) + Send + Sync>| {
        let key = admin_key(node, what)?;
        session
            .declare_queryable(key.clone())
            .callback(callback)
            .wait()
            .map_err(|e| TransportError::Declare {
                what: "queryable",
                key: key.to_string(),
                message: e.to_string(),
            })
    };
    let for_status = swapper.clone();
    let status = declare(
        "module",
        Box::new(move |query| {
            let body = serde_json::to_string(&for_status.status()).unwrap_or_default();
            if let Err(e) = query.reply(query.key_expr().clone(), body).wait() {
                tracing::debug!(error = %e, "module status reply");
            }
        }),
    )?;
    let deploy = declare("deploy", Box::new(move |query| deploy(&swapper, query)))?;
    Ok(Admin {
        _deploy: deploy,
        _status: status,
    })
}

/// Hands the query to a short-lived thread: copying and hashing up to
/// 64 MiB is not work for zenoh's thread.
fn deploy(swapper: &SwapHandle, query: Query) {
    let swapper = swapper.clone();
    let spawned = std::thread::Builder::new()
        .name("fusion-deploy".into())
        .spawn(move || deploy_on_own_thread(&swapper, &query));
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start a deploy thread");
    }
}

fn deploy_on_own_thread(swapper: &SwapHandle, query: &Query) {
    let bytes = query
        .payload()
        .map(|p| p.to_bytes().into_owned())
        .unwrap_or_default();
    let signature = query.attachment().map(|a| a.to_bytes().into_owned());
    if bytes.is_empty() || bytes.len() > MAX_DEPLOY_BYTES {
        let why = format!(
            "a deploy carries the module as its payload, 1 byte to {} MiB; this one has {} bytes",
            MAX_DEPLOY_BYTES >> 20,
            bytes.len()
        );
        reply(query, &refusal(swapper, &bytes, why));
        return;
    }
    let (tx, rx) = crossbeam_channel::bounded(1);
    swapper.request(bytes, signature, Trigger::Deploy, "deploy".into(), Some(tx));
    match rx.recv_timeout(DEPLOY_REPLY_TIMEOUT) {
        Ok(outcome) => reply(query, &outcome),
        Err(_) => {
            let _ = query
                .reply_err("the swap did not finish in time; see `fusion-node module status`")
                .wait();
        }
    }
}

fn refusal(swapper: &SwapHandle, bytes: &[u8], why: String) -> SwapOutcome {
    SwapOutcome {
        reason: Some(why),
        ..SwapOutcome::blank(
            Trigger::Deploy,
            "deploy".into(),
            sha256_hex(bytes),
            &swapper.status().current.sha256,
        )
    }
}

fn reply(query: &Query, outcome: &SwapOutcome) {
    let body = serde_json::to_string(outcome).unwrap_or_default();
    if let Err(e) = query.reply(query.key_expr().clone(), body).wait() {
        tracing::debug!(error = %e, "deploy reply");
    }
}
