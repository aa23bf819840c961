//! The shipped launch files, their conversions, and semantic checks.
//! Error positions as a user sees them are tested through the binary in
//! `tests/launch.rs`.

use std::path::PathBuf;

use super::*;

fn shipped(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../launch")
        .join(name)
}

fn parse(text: &str) -> std::result::Result<Launch, LaunchError> {
    // Relative paths resolve against the repository's launch/ directory.
    Launch::parse(text, &shipped("inline.toml"))
}

const MINIMAL: &str = r#"
name = "n"
[module]
path = "builtin:reference"
[[sensors]]
name = "l"
kind = "lidar"
topic = "/l"
frame_id = "l"
extrinsics = { translation = [0, 0, 0], rpy_deg = [0, 0, 0] }
"#;

#[test]
fn default_launch_matches_the_simulators_rig() {
    let launch = Launch::load(shipped("default.toml")).unwrap();
    let config = launch.module_config();
    let rig = fusion_sim::default_rig();
    assert_eq!(config.output_frame_id, fusion_sim::rig::BASE_LINK);
    assert_eq!(config.sensors.len(), rig.len());
    for (got, want) in config.sensors.iter().zip(&rig) {
        assert_eq!(
            (
                got.index,
                got.kind,
                &got.name,
                &got.frame_id,
                &got.intrinsics
            ),
            (
                want.index,
                want.kind,
                &want.name,
                &want.frame_id,
                &want.intrinsics
            )
        );
        let (p, q) = (&got.pose.position, &want.pose.position);
        assert_eq!((p.x, p.y, p.z), (q.x, q.y, q.z), "{}", got.name);
        // q and -q are the same rotation.
        let (a, b) = (&got.pose.orientation, &want.pose.orientation);
        let dot = a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
        assert!(
            (dot.abs() - 1.0).abs() < 1e-12,
            "{}: {a:?} vs {b:?}",
            got.name
        );
    }
    assert_eq!(
        launch.primary().map(|s| s.index),
        Some(fusion_sim::rig::LIDAR_TOP)
    );
}

#[test]
fn default_launch_configures_the_reference_module() {
    let launch = Launch::load(shipped("default.toml")).unwrap();
    let config = fusion_msgs::encode(&launch.module_config()).unwrap();
    fusion_abi::NativeModule::<fusion_reference::ReferenceModule>::init(&config).unwrap();
    assert_eq!(launch.module.source, ModuleSource::BuiltinReference);
    assert_eq!(launch.module.memory_bytes, 128 << 20);
    let aligner = crate::align::Aligner::<()>::new(&launch.aligner_config()).unwrap();
    assert_eq!(aligner.sensor_count(), 8);
}

#[test]
fn minimal_launch_takes_the_defaults() {
    let launch = Launch::load(shipped("minimal.toml")).unwrap();
    assert_eq!(launch.deadline, DEFAULT_DEADLINE);
    assert_eq!(
        launch.zenoh,
        Zenoh::Settings {
            mode: ZenohMode::Peer,
            connect: vec![],
            listen: vec![]
        }
    );
    assert_eq!(
        launch.align,
        AlignPolicy::Trigger {
            max_skew: DEFAULT_MAX_SKEW,
            max_wait: DEFAULT_MAX_WAIT
        }
    );
    assert!(launch.sensors[0].primary);
    assert_eq!(launch.outputs.diagnostics, "/diagnostics");
    assert_eq!(launch.logs.miss_log, None);
    assert!(launch.module_config().parameters.is_empty());
}

#[test]
fn approximate_time_and_parameters_convert() {
    let text = MINIMAL.replace(
        "[module]",
        "[align.approximate_time]\nqueue_size = 5\nmax_interval = \"30ms\"\n\
         [module]\nparameters = { b = true, i = 3, f = 0.5 }",
    );
    let launch = parse(&text).unwrap();
    let config = launch.aligner_config();
    assert_eq!(
        config.policy,
        crate::align::PolicyConfig::ApproximateTime(crate::align::ApproximateTimeConfig {
            queue_size: 5,
            max_interval_ns: Some(30_000_000),
            age_penalty: 0.1,
            inter_message_lower_bound_ns: vec![],
        })
    );
    let params: Vec<(String, f64)> = launch
        .module_config()
        .parameters
        .into_iter()
        .map(|p| (p.name, p.value))
        .collect();
    assert_eq!(
        params,
        vec![("b".into(), 1.0), ("f".into(), 0.5), ("i".into(), 3.0)]
    );
}

#[test]
fn the_first_lidar_is_primary_unless_another_is_marked() {
    let two = format!(
        "{MINIMAL}\n[[sensors]]\nname = \"m\"\nkind = \"lidar\"\ntopic = \"/m\"\nframe_id = \"m\"\n\
         extrinsics = {{ translation = [0, 0, 0], quaternion = [0, 0, 0, 1] }}\n"
    );
    assert_eq!(parse(&two).unwrap().primary().unwrap().name, "l");
    let marked = two.replace("frame_id = \"m\"", "frame_id = \"m\"\nprimary = true");
    assert_eq!(parse(&marked).unwrap().primary().unwrap().name, "m");
    let both = marked.replace("frame_id = \"l\"", "frame_id = \"l\"\nprimary = true");
    let err = parse(&both).unwrap_err().to_string();
    assert!(err.contains("already primary"), "{err}");
}

/// Semantic errors: the message, and the position of the value at fault.
#[test]
fn semantic_errors_point_at_the_value() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "rpy_deg = [0, 0, 0] }",
            "quaternion = [0, 0, 0, 2] }",
            "quaternion norm is 2",
        ),
        (
            "rpy_deg = [0, 0, 0] }",
            "rpy_deg = [0, 0, 0], quaternion = [0, 0, 0, 1] }",
            "not both",
        ),
        ("topic = \"/l\"", "topic = \"l/x\"", "must be absolute"),
        (
            "name = \"n\"",
            "name = \"n\"\ndeadline = \"0ms\"",
            "deadline 0ns is out of range",
        ),
        (
            "name = \"n\"",
            "name = \"n\"\ndeadline = \"2ms\"\n[align.trigger]\nmax_wait = \"2ms\"",
            "shorter than the deadline",
        ),
        (
            "path = \"builtin:reference\"",
            "path = \"builtin:other\"",
            "unknown built-in",
        ),
        (
            "path = \"builtin:reference\"",
            "path = \"README.md\"",
            "must be a .wasm",
        ),
        (
            "path = \"builtin:reference\"",
            "path = \"x.wasm\"",
            "cannot read module",
        ),
        (
            "path = \"builtin:reference\"",
            "path = \"builtin:reference\"\nmemory = \"512KiB\"",
            "memory is out of range",
        ),
        (
            "path = \"builtin:reference\"",
            "path = \"builtin:reference\"\nparameters = { s = \"x\" }",
            "parameter `s` is a string",
        ),
        (
            "[module]",
            "[align.approximate_time]\nqueue_size = 1\n[module]",
            "queue_size 1 is out of range: 2 to",
        ),
        (
            "kind = \"lidar\"",
            "kind = \"radar\"\nprimary = true",
            "only a LiDAR can be primary",
        ),
        (
            "name = \"n\"",
            "name = \"n\"\n[zenoh]\nconfig = \"z.json5\"\nmode = \"client\"",
            "`mode` cannot be combined",
        ),
        (
            "name = \"n\"",
            "name = \"n\"\n[zenoh]\nconnect = [\"localhost\"]",
            "must be `protocol/address`",
        ),
        (
            "name = \"n\"",
            "name = \"n\"\n[outputs]\nmarkers = \"/l\"",
            "also a sensor topic",
        ),
    ];
    for (from, to, message) in cases {
        assert!(MINIMAL.contains(from), "{from}");
        let text = MINIMAL.replacen(from, to, 1);
        let err = parse(&text).expect_err(to);
        let shown = err.to_string();
        assert!(shown.contains(message), "{to}: {shown}");
        assert_eq!(shown.lines().count(), 1, "{shown}");
        // The position is that of the changed text (or of what it added).
        let location = err.location.expect("has a position");
        let changed_line = text[..text.find(to).unwrap()].matches('\n').count() + 1;
        let added_lines = to.matches('\n').count();
        assert!(
            (changed_line..=changed_line + added_lines).contains(&location.line),
            "{to}: {shown}"
        );
    }
}

#[test]
fn the_default_policy_blames_the_sensor_list_for_a_missing_lidar() {
    let err = parse(&MINIMAL.replace("\"lidar\"", "\"radar\"")).unwrap_err();
    assert!(
        err.to_string().contains("trigger policy needs a LiDAR"),
        "{err}"
    );
    // MINIMAL's [[sensors]] header is on line 5.
    assert_eq!(err.location.map(|l| l.line), Some(5), "{err}");
}

#[test]
fn a_camera_needs_intrinsics_and_others_refuse_them() {
    let camera = MINIMAL.replace("kind = \"lidar\"", "kind = \"camera\"");
    let text = camera.replace("[align", "").replace(
        "[module]",
        "[align.approximate_time]\nqueue_size = 2\n[module]",
    );
    let err = parse(&text).unwrap_err().to_string();
    assert!(err.contains("camera `l` needs `intrinsics`"), "{err}");
    let with = format!(
        "{text}intrinsics = {{ fx = 1.0, fy = 1.0, cx = 2.0, cy = 1.0, width = 4, height = 2, distortion = [0, 0, 0, 0, 0] }}\n"
    );
    let launch = parse(&with).unwrap();
    let camera = launch.sensors[0].camera.as_ref().unwrap();
    assert_eq!((camera.width, camera.distortion.len()), (4, 5));
    let lidar = format!(
        "{MINIMAL}intrinsics = {{ fx = 1.0, fy = 1.0, cx = 0.0, cy = 0.0, width = 1, height = 1 }}\n"
    );
    let err = parse(&lidar).unwrap_err().to_string();
    assert!(err.contains("`intrinsics` are for cameras"), "{err}");
}

#[test]
fn rpy_follows_the_ros_convention() {
    let q = rotation::quaternion_from_rpy_deg([0.0, 0.0, 90.0]);
    let h = std::f64::consts::FRAC_1_SQRT_2;
    assert!(
        q.iter()
            .zip([0.0, 0.0, h, h])
            .all(|(a, b)| (a - b).abs() < 1e-15)
    );
    // The optical frame of a forward camera.
    let q = rotation::quaternion_from_rpy_deg([-90.0, 0.0, -90.0]);
    assert!(
        q.iter()
            .zip([-0.5, 0.5, -0.5, 0.5])
            .all(|(a, b)| (a - b).abs() < 1e-15)
    );
}

#[test]
fn the_builtin_module_is_embedded_in_the_binary() {
    let embedded = ModuleSource::BuiltinReference.read().unwrap();
    assert!(embedded.starts_with(b"\0asm"));
    // The very module the build script built, not a copy of another.
    assert_eq!(
        &*embedded,
        std::fs::read(crate::modules::REFERENCE_WASM)
            .unwrap()
            .as_slice()
    );
    assert_eq!(
        ModuleSource::BuiltinReference.path(),
        std::path::Path::new(BUILTIN_REFERENCE)
    );
}

/// MINIMAL with a `[module.swap]` table holding `body`; the table's first
/// key is on line 6.
fn with_swap(body: &str) -> String {
    let path = "path = \"builtin:reference\"\n";
    MINIMAL.replacen(path, &format!("{path}[module.swap]\n{body}\n"), 1)
}

const KEY_A: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const KEY_B: &str = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";

#[test]
fn swap_policy_defaults_without_the_table() {
    let launch = parse(MINIMAL).unwrap();
    assert_eq!(launch.module.swap, SwapPolicy::default());
    let swap = SwapPolicy::default();
    assert!(!swap.watch && !swap.require_signed && swap.trusted_keys.is_empty());
    assert_eq!(swap.poll_interval, Duration::from_millis(500));
    assert_eq!(
        (swap.warmup_frames, swap.watch_frames, swap.rollback_misses),
        (8, 20, 3)
    );
    // An empty table is the defaults too.
    assert_eq!(parse(&with_swap("")).unwrap().module.swap, swap);
}

#[test]
fn a_full_swap_table_parses() {
    let text = with_swap(&format!(
        "watch = false\npoll_interval = \"250ms\"\nwarmup_frames = 64\nwatch_frames = 100\n\
         rollback_misses = 5\nrequire_signed = true\ntrusted_keys = [\"{KEY_A}\", \"{}\"]\n\
         min_version = 12",
        KEY_B.to_uppercase()
    ));
    let swap = parse(&text).unwrap().module.swap;
    assert_eq!(
        swap,
        SwapPolicy {
            watch: false,
            poll_interval: Duration::from_millis(250),
            warmup_frames: 64,
            watch_frames: 100,
            rollback_misses: 5,
            require_signed: true,
            trusted_keys: vec![KEY_A.parse().unwrap(), KEY_B.parse().unwrap()],
            min_version: 12,
        }
    );
    assert_eq!(swap.trusted_keys[1].to_string(), KEY_B);
}

#[test]
fn watch_needs_a_module_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let text = with_swap("watch = true\nwatch_frames = 2").replace("builtin:reference", "m.wasm");
    let swap = Launch::parse(&text, &dir.path().join("launch.toml"))
        .unwrap()
        .module
        .swap;
    assert!(swap.watch);
    // The default rollback_misses (3) shrinks to a 2-frame watch.
    assert_eq!((swap.watch_frames, swap.rollback_misses), (2, 2));
}

/// Each bad value: the message, at the line and column of `at` (the
/// first occurrence in the table's body).
#[test]
fn swap_errors_point_at_the_value() {
    let bad_key = format!("trusted_keys = [\"{KEY_A}\", \"abc\"]");
    let cases: &[(&str, &str, &str)] = &[
        (
            "wacth = true",
            "wacth",
            "unknown field `wacth`, expected one of `watch`",
        ),
        (
            "watch = true",
            "true",
            "`builtin:reference` is embedded in the binary, so there is no file to watch",
        ),
        (
            "watch = 1",
            "1",
            "invalid type: integer `1`, expected a boolean",
        ),
        (
            "poll_interval = \"5ms\"",
            "\"5ms\"",
            "poll_interval 5ms is too short: at least 10ms",
        ),
        ("poll_interval = 500", "500", "has no unit"),
        (
            "warmup_frames = 0",
            "0",
            "warmup_frames 0 is out of range: 1 to 64",
        ),
        (
            "warmup_frames = 65",
            "65",
            "warmup_frames 65 is out of range: 1 to 64",
        ),
        ("warmup_frames = -1", "-1", "invalid value: integer `-1`"),
        (
            "watch_frames = 10001",
            "10001",
            "watch_frames 10001 is out of range: 1 to 10000",
        ),
        (
            "rollback_misses = 0",
            "0",
            "rollback_misses 0 is out of range: 1 to 20 (watch_frames)",
        ),
        (
            "watch_frames = 4\nrollback_misses = 5",
            "5",
            "rollback_misses 5 is out of range: 1 to 4 (watch_frames)",
        ),
        (
            "require_signed = true",
            "true",
            "require_signed = true needs at least one key in trusted_keys",
        ),
        (
            "require_signed = true\ntrusted_keys = []",
            "[]",
            "needs at least one key in trusted_keys",
        ),
        (
            &bad_key,
            "\"abc\"",
            "trusted_keys[1]: not an ed25519 public key: expected 64 hex characters, found 3",
        ),
        (
            "trusted_keys = [\"zz\"]",
            "\"zz\"",
            "trusted_keys[0]: not an ed25519 public key: `z` is not a hex digit",
        ),
        (
            "min_version = 3",
            "3",
            "min_version needs require_signed = true",
        ),
        ("min_version = -1", "-1", "invalid value: integer `-1`"),
        (
            "trusted_keys = \"ab\"",
            "\"ab\"",
            "invalid type: string \"ab\", expected a sequence",
        ),
    ];
    for (body, at, message) in cases {
        let text = with_swap(body);
        let err = parse(&text).expect_err(body);
        let shown = err.to_string();
        assert!(shown.contains(message), "{body}: {shown}");
        assert_eq!(shown.lines().count(), 1, "{shown}");
        let table = text.find("[module.swap]").unwrap();
        let want = error::Location::of_offset(&text, table + text[table..].find(at).unwrap());
        assert_eq!(err.location, Some(want), "{body}: {shown}");
        assert!(shown.contains(&format!("inline.toml:{want}: ")), "{shown}");
    }
}
