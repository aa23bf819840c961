//! Writes drives for tests/oracle/mcap_oracle.py, which reads them with the
//! Python mcap, mcap-ros2-support and rosbags packages, when
//! FUSION_DRIVE_ORACLE_OUT names a directory. Without it, checks that the
//! dump is well formed. One drive is spliced (`SpliceWriter`): the zstd
//! drive's chunks copied as they are, and new messages in lz4 chunks.

mod common;

use common::{Written, splice, write_sample};
use fusion_drive::{Compression, DriveReader, ReadFilter, WriterConfig};

#[derive(serde::Serialize)]
struct Drive {
    file: String,
    compression: Compression,
    /// A spliced drive: the compression of the chunks written anew (the
    /// copied ones keep `compression`).
    #[serde(skip_serializing_if = "Option::is_none")]
    new_compression: Option<Compression>,
    messages: Vec<Written>,
}

#[derive(serde::Serialize)]
struct Cut {
    file: String,
    /// How many bytes of `of` it keeps.
    bytes: usize,
    of: String,
    /// What fusion-drive reads from it: (topic, log time, sequence).
    read: Vec<(String, u64, u32)>,
    truncated: bool,
}

#[derive(serde::Serialize)]
struct Dump {
    drives: Vec<Drive>,
    cuts: Vec<Cut>,
}

#[test]
fn dump_drives_for_the_python_oracle() {
    let tmp = tempfile::tempdir().unwrap();
    let out = std::env::var_os("FUSION_DRIVE_ORACLE_OUT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&out).unwrap();
    let mut dump = Dump {
        drives: Vec::new(),
        cuts: Vec::new(),
    };
    for compression in [Compression::Zstd, Compression::Lz4, Compression::None] {
        let file = format!("drive-{compression}.mcap");
        let config = WriterConfig {
            compression,
            chunk_bytes: 8192,
            ..WriterConfig::default()
        };
        let messages = write_sample(&out.join(&file), config, 2);
        dump.drives.push(Drive {
            file,
            compression,
            new_compression: None,
            messages,
        });
    }
    // The zstd drive's chunks copied, with new lz4 chunks between them.
    let file = "spliced.mcap".to_owned();
    let config = WriterConfig {
        compression: Compression::Lz4,
        chunk_bytes: 8192,
        ..WriterConfig::default()
    };
    let (_, new, summary) = splice(
        &out.join("drive-zstd.mcap"),
        ReadFilter::default(),
        &out.join(&file),
        config,
    );
    assert!(summary.chunks_copied > 1 && summary.chunks_written > 1);
    let mut messages = dump.drives[0].messages.clone();
    messages.extend(new);
    dump.drives.push(Drive {
        file,
        compression: Compression::Zstd,
        new_compression: Some(Compression::Lz4),
        messages,
    });
    let whole = std::fs::read(out.join("drive-zstd.mcap")).unwrap();
    for percent in [14, 20, 27, 50] {
        let bytes = whole.len() * percent / 100;
        let file = format!("cut-{percent}.mcap");
        std::fs::write(out.join(&file), &whole[..bytes]).unwrap();
        let reader = DriveReader::open(out.join(&file)).unwrap();
        let mut messages = reader.messages(ReadFilter::default());
        let read = messages
            .by_ref()
            .map(|m| (m.topic.to_string(), m.log_time_ns, m.sequence))
            .collect();
        dump.cuts.push(Cut {
            file,
            bytes,
            of: "drive-zstd.mcap".to_owned(),
            read,
            truncated: messages.issues().truncated,
        });
    }
    assert!(dump.cuts.iter().all(|c| c.truncated));
    let total = dump.drives[0].messages.len();
    assert!(
        dump.cuts
            .iter()
            .any(|c| !c.read.is_empty() && c.read.len() < total)
    );
    let json = serde_json::to_string(&dump).unwrap();
    std::fs::write(out.join("expected.json"), json).unwrap();
}
