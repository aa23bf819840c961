//! The hostile-module corpus (`tests/hostile/*.wat`): each module is
//! refused at load or contained at run time with the reason reported, and
//! afterwards good frames are processed normally, by the same host where it
//! survives and by the reference module on the same engine in every case.
//!
//! Every hostile module behaves well on ordinary frames and turns hostile
//! on a frame whose first byte is 0xFF; its output is "ok" and the number of
//! steps since init, so a fresh instance shows as "ok1".

mod common;

use std::time::{Duration, Instant};

use common::{assert_reference_still_works, functional_limits, shared, wat};
use fusion_node::host::{HostError, Limits, MissReason, ModuleHost, StepMiss, TrapKind};

/// Fails the whole test binary if preemption is broken, rather than let an
/// endless loop hang it: dropped when the test is done.
struct Watchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Watchdog {
    fn arm(test: &'static str) -> Self {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        std::thread::spawn(move || {
            for _ in 0..300 {
                std::thread::sleep(Duration::from_millis(100));
                if flag.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
            }
            eprintln!("{test}: the endless loop was not interrupted within 30 s");
            std::process::exit(101);
        });
        Watchdog(done)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

const GOOD: &[u8] = &[0, 1, 2, 3];
const HOSTILE: &[u8] = &[0xFF, 1, 2, 3];

fn host(name: &str, limits: Limits) -> ModuleHost {
    let (engine, _) = shared();
    let mut host = ModuleHost::from_wasm(engine, &wat(name), limits).unwrap();
    host.init(b"any config").unwrap();
    host
}

fn step(host: &mut ModuleHost, frame: &[u8]) -> Result<Vec<u8>, StepMiss> {
    host.run_step(frame.len(), |d| d.copy_from_slice(frame))
        .map(|s| s.output.to_vec())
}

/// Two good frames, the hostile one, then a good one again. Returns the
/// miss and the output of the frame after it.
fn run_hostile_frame(host: &mut ModuleHost) -> (StepMiss, Vec<u8>) {
    assert_eq!(step(host, GOOD).unwrap(), b"ok1");
    assert_eq!(step(host, GOOD).unwrap(), b"ok2");
    let miss = step(host, HOSTILE).unwrap_err();
    let deadline = host.limits().step_deadline;
    let after = host
        .run_step(GOOD.len(), |d| d.copy_from_slice(GOOD))
        .unwrap();
    assert!(
        after.elapsed < deadline,
        "the frame after the miss runs on time: {:?}",
        after.elapsed
    );
    (miss, after.output.to_vec())
}

/// A trap: the instance is replaced and initialised again, so the next
/// frame is the fresh instance's first.
fn assert_trap_contained(name: &str, kind: TrapKind) {
    let mut host = host(name, functional_limits());
    let (miss, after) = run_hostile_frame(&mut host);
    assert_eq!(miss.reason, MissReason::Trap(kind), "{miss}");
    assert_eq!(
        miss.error,
        HostError::Trap {
            export: "fusion_step",
            kind
        }
    );
    assert!(miss.restarted);
    assert_eq!(host.restarts(), 1);
    assert_eq!(after, b"ok1", "a fresh instance, initialised again");
    assert_reference_still_works();
}

#[test]
fn endless_loop_in_step_is_interrupted_at_the_deadline() {
    let _watchdog = Watchdog::arm("endless_loop_in_step");
    let limits = Limits {
        step_deadline: Duration::from_millis(10),
        ..Limits::default()
    };
    let mut host = host("loop_in_step", limits);
    let (miss, after) = run_hostile_frame(&mut host);
    assert_eq!(miss.reason, MissReason::Deadline, "{miss}");
    assert_eq!(miss.reason.to_string(), "deadline");
    assert!(
        miss.elapsed >= Duration::from_millis(10) && miss.elapsed < Duration::from_secs(1),
        "interrupted after {:?}",
        miss.elapsed
    );
    assert!(miss.restarted);
    assert_eq!(after, b"ok1");
    // Again: the fresh instance is interrupted the same way.
    let again = step(&mut host, HOSTILE).unwrap_err();
    assert_eq!(again.reason, MissReason::Deadline);
    assert_eq!(host.restarts(), 2);
    assert_reference_still_works();
}

#[test]
fn a_late_frame_is_interrupted_when_its_remaining_budget_is_spent() {
    let _watchdog = Watchdog::arm("late_frame");
    // A step deadline far away; the frame arrived late and has 20 ms left.
    let hostile_within = |host: &mut ModuleHost, deadline| {
        host.run_step_within(deadline, HOSTILE.len(), |d| d.copy_from_slice(HOSTILE))
            .map(|s| s.output.to_vec())
            .unwrap_err()
    };
    let mut host = host("loop_in_step", functional_limits());
    let miss = hostile_within(&mut host, Duration::from_millis(20));
    assert_eq!(miss.reason, MissReason::Deadline, "{miss}");
    assert!(
        miss.elapsed >= Duration::from_millis(20) && miss.elapsed < Duration::from_secs(2),
        "interrupted after {:?}, not at the remaining budget",
        miss.elapsed
    );
    // More than the step deadline is not granted.
    let limits = Limits {
        step_deadline: Duration::from_millis(10),
        ..Limits::default()
    };
    let mut host = self::host("loop_in_step", limits);
    let miss = hostile_within(&mut host, Duration::from_secs(60));
    assert_eq!(miss.reason, MissReason::Deadline, "{miss}");
    assert!(miss.elapsed < Duration::from_secs(2), "{:?}", miss.elapsed);
}

#[test]
fn endless_loop_in_init_is_interrupted_at_the_init_deadline() {
    let _watchdog = Watchdog::arm("endless_loop_in_init");
    let (engine, _) = shared();
    let limits = Limits {
        init_deadline: Duration::from_millis(200),
        ..Limits::default()
    };
    let mut host = ModuleHost::from_wasm(engine, &wat("loop_in_init"), limits).unwrap();
    let start = Instant::now();
    let err = host.init(b"any config").unwrap_err();
    let elapsed = start.elapsed();
    assert_eq!(
        err,
        HostError::Trap {
            export: "fusion_init",
            kind: TrapKind::Interrupt
        }
    );
    assert_eq!(MissReason::of(&err), MissReason::Deadline);
    assert!(
        elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(2),
        "interrupted after {elapsed:?}"
    );
    // The instance was replaced by a fresh, uninitialised one.
    let miss = step(&mut host, GOOD).unwrap_err();
    assert_eq!(
        miss.reason,
        MissReason::ModuleError(fusion_abi::status::NOT_INITIALIZED)
    );
    assert_reference_still_works();
}

#[test]
fn memory_grow_bomb_is_capped_by_the_store_limit() {
    let mut host = host("memory_grow_bomb", functional_limits());
    let (miss, after) = run_hostile_frame(&mut host);
    assert_eq!(
        miss.reason,
        MissReason::ModuleError(fusion_abi::status::NO_MEMORY),
        "{miss}"
    );
    let cap = Limits::default().memory_bytes;
    assert!(
        host.memory_size() <= cap && host.memory_size() > cap - (2 << 20),
        "grew to {} bytes, capped at {cap}",
        host.memory_size()
    );
    assert!(!miss.restarted, "a status is not a trap: the state is kept");
    assert_eq!(after, b"ok3");
    assert_reference_still_works();
}

#[test]
fn deep_recursion_is_a_stack_overflow() {
    assert_trap_contained("deep_recursion", TrapKind::StackOverflow);
}

#[test]
fn unreachable_is_reported_as_such() {
    assert_trap_contained("unreachable", TrapKind::Unreachable);
}

#[test]
fn output_outside_memory_is_refused() {
    let mut host = host("output_out_of_bounds", functional_limits());
    let (miss, after) = run_hostile_frame(&mut host);
    assert_eq!(miss.reason, MissReason::OutputInvalid);
    assert_eq!(
        miss.error,
        HostError::OutOfBounds {
            what: "output",
            ptr: 0xFFFF_0000,
            len: 16
        }
    );
    assert!(!miss.restarted);
    assert_eq!(after, b"ok3");
    assert_reference_still_works();
}

#[test]
fn output_over_the_limit_is_refused() {
    let mut host = host("output_too_large", functional_limits());
    let (miss, after) = run_hostile_frame(&mut host);
    assert_eq!(miss.reason, MissReason::OutputInvalid);
    assert_eq!(
        miss.error,
        HostError::OutputTooLarge {
            len: 64 << 20,
            limit: 16 << 20
        }
    );
    assert_eq!(after, b"ok3");
    assert_reference_still_works();
}

fn refused(wasm: &[u8]) -> HostError {
    let (engine, _) = shared();
    match ModuleHost::from_wasm(engine, wasm, functional_limits()) {
        Ok(_) => panic!("the module was accepted"),
        Err(e) => e,
    }
}

#[test]
fn wrong_abi_version_is_refused() {
    let err = refused(&wat("wrong_abi_version"));
    assert_eq!(
        err,
        HostError::AbiVersion {
            found: 2,
            supported: 1
        }
    );
    assert_reference_still_works();
}

#[test]
fn missing_export_is_refused_by_name() {
    let err = refused(&wat("missing_export"));
    assert_eq!(err, HostError::MissingExport("fusion_step"));
    assert!(err.to_string().contains("`fusion_step`"), "{err}");
    assert_reference_still_works();
}

#[test]
fn wasi_import_is_refused_by_name() {
    let err = refused(&wat("forbidden_import"));
    assert_eq!(
        err,
        HostError::ForbiddenImport {
            module: "wasi_snapshot_preview1".into(),
            name: "fd_write".into()
        }
    );
    assert!(
        err.to_string()
            .contains("`wasi_snapshot_preview1.fd_write`"),
        "{err}"
    );
    assert_reference_still_works();
}

#[test]
fn garbage_bytes_are_refused() {
    for garbage in [
        &b"\0asm\x01\0\0\0\x01\xff\xff\xff\xff garbage"[..],
        b"definitely not wasm",
        b"",
    ] {
        let err = refused(garbage);
        assert!(matches!(err, HostError::Compile(_)), "{err:?}");
    }
    assert_reference_still_works();
}
