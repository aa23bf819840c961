//! A running node's live counters and percentiles over zenoh: the node
//! answers queries on `fusion/<node name>/stats` with one JSON document,
//! and `fusion-node stats --node NAME` asks for it (`cli::ask_node`).
//!
//! The answer is built on zenoh's thread from the [`MonitorHandle`]: the
//! monitor's counters, the queue-overflow totals `run` stores there once a
//! second, and the percentile snapshot the sink refreshes about once a
//! second. Nothing here touches the executor.

use std::time::Instant;

use serde_json::{Value, json};
use zenoh::key_expr::KeyExpr;
use zenoh::query::Queryable;
use zenoh::{Session, Wait};

use crate::monitor::MonitorHandle;
use crate::transport::TransportError;

/// The key a node named `node` answers on.
pub fn key(node: &str) -> Result<KeyExpr<'static>, TransportError> {
    let key = format!("fusion/{node}/stats");
    KeyExpr::try_from(key.clone()).map_err(|e| TransportError::KeyExpr {
        topic: key,
        message: e.to_string(),
    })
}

/// What a node reports now (see the module docs for the sources).
pub fn report(node: &str, sensors: &[String], monitor: &MonitorHandle, started: Instant) -> Value {
    let c = monitor.counters();
    let drops = monitor.overflow_drops(sensors.len());
    json!({
        "node": node,
        "uptime_s": started.elapsed().as_secs_f64(),
        "counters": {
            "frames": c.frames,
            "ok": c.ok,
            "misses": c.misses(),
            "deadline": c.deadline,
            "trap": c.trap,
            "module_error": c.module_error,
            "output_invalid": c.output_invalid,
            "input_invalid": c.input_invalid,
            "restart_failed": c.restart_failed,
            "publish_failed": c.publish_failed,
            "late": c.late,
            "degraded": c.degraded,
            "degraded_frames": c.degraded_frames,
            "dropped_input": c.dropped_inputs,
            "dropped_set": c.dropped_sets,
            "miss_log_lines": c.log_lines,
            "miss_log_errors": c.log_errors,
        },
        "sensors": sensors
            .iter()
            .zip(drops)
            .map(|(name, dropped)| json!({ "name": name, "dropped_overflow": dropped }))
            .collect::<Vec<_>>(),
        "latency": monitor.live_summary(),
    })
}

/// Declares the queryable of the node `node` on `session`; it answers
/// until dropped.
pub fn serve(
    session: &Session,
    node: &str,
    sensors: Vec<String>,
    monitor: MonitorHandle,
) -> Result<Queryable<()>, TransportError> {
    let key = key(node)?;
    let name = node.to_owned();
    let started = Instant::now();
    session
        .declare_queryable(key.clone())
        .callback(move |query| {
            let body = report(&name, &sensors, &monitor, started).to_string();
            if let Err(e) = query.reply(query.key_expr().clone(), body).wait() {
                tracing::debug!(error = %e, "stats reply");
            }
        })
        .wait()
        .map_err(|e| TransportError::Declare {
            what: "queryable",
            key: key.to_string(),
            message: e.to_string(),
        })
}

/// The answer as a table: counters, per-sensor drops, percentiles.
pub fn table(stats: &Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} (up {:.1} s)",
        stats["node"].as_str().unwrap_or("?"),
        stats["uptime_s"].as_f64().unwrap_or(0.0)
    );
    if let Some(counters) = stats["counters"].as_object() {
        for (k, v) in counters {
            let _ = writeln!(out, "  {k:<16} {v:>10}");
        }
    }
    if let Some(sensors) = stats["sensors"].as_array() {
        let _ = writeln!(out, "{:<24} {:>10}", "sensor", "dropped");
        for s in sensors {
            let _ = writeln!(
                out,
                "  {:<22} {:>10}",
                s["name"].as_str().unwrap_or("?"),
                s["dropped_overflow"]
            );
        }
    }
    match stats["latency"]["stages"].as_array() {
        Some(stages) => {
            let _ = writeln!(
                out,
                "{:<12} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}",
                "stage (µs)", "count", "p50", "p90", "p99", "p99.9", "max"
            );
            for s in stages {
                let _ = writeln!(
                    out,
                    "  {:<10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}",
                    s["stage"].as_str().unwrap_or("?"),
                    s["count"],
                    s["p50_us"],
                    s["p90_us"],
                    s["p99_us"],
                    s["p999_us"],
                    s["max_us"]
                );
            }
        }
        None => out.push_str(
            "latency: no snapshot yet (the first comes a second after the first frame)\n",
        ),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_counters_sensors_and_percentiles() {
        let mut stats = json!({
            "node": "n",
            "uptime_s": 3.25,
            "counters": { "frames": 7, "misses": 1 },
            "sensors": [{ "name": "lidar", "dropped_overflow": 2 }],
            "latency": null,
        });
        let text = table(&stats);
        assert!(
            text.starts_with("n (up 3.2 s)\n") || text.starts_with("n (up 3.3 s)\n"),
            "{text}"
        );
        assert!(text.contains("frames") && text.contains("lidar"), "{text}");
        assert!(text.contains("latency: no snapshot yet"), "{text}");
        stats["latency"] = json!({ "stages": [{ "stage": "EndToEnd", "count": 5,
            "p50_us": 100, "p90_us": 200, "p99_us": 300, "p999_us": 400, "max_us": 500 }] });
        let text = table(&stats);
        let row = text.lines().find(|l| l.contains("EndToEnd")).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells, ["EndToEnd", "5", "100", "200", "300", "400", "500"]);
        assert_eq!(
            key("fusion_node").unwrap().as_str(),
            "fusion/fusion_node/stats"
        );
    }
}
