//! Generates the Rust message types from the `.msg` files under `msg/`, the
//! way rosidl generates C++ and Python from them: the `.msg` files are the
//! single source of truth for field order, types, constants and defaults.
//!
//! The MCAP schema text (`FULL_DEFINITION`) is also built here, because it
//! needs the whole dependency graph, which only the parser sees.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[path = "build/msgdef.rs"]
mod msgdef;

use msgdef::{FieldType, MsgSpec, Primitive};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("msg");
    println!("cargo:rerun-if-changed=msg");
    println!("cargo:rerun-if-changed=build/msgdef.rs");

    let specs = load_all(&root);
    let mut out = String::new();
    let packages: BTreeSet<&str> = specs.keys().map(|(pkg, _)| pkg.as_str()).collect();
    for pkg in &packages {
        writeln!(out, "/// Types of the ROS 2 package `{pkg}`.").unwrap();
        writeln!(out, "pub mod {pkg} {{").unwrap();
        for ((p, name), spec) in &specs {
            if p == pkg {
                emit_struct(&mut out, &root, spec, &specs, name);
            }
        }
        writeln!(out, "}}").unwrap();
    }
    emit_registry(&mut out, &specs);

    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("generated.rs");
    std::fs::write(dest, out).unwrap();
}

type Specs = BTreeMap<(String, String), MsgSpec>;

fn load_all(root: &Path) -> Specs {
    let mut specs = Specs::new();
    let mut pkgs: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pkgs.sort();
    for pkg_dir in pkgs.into_iter().filter(|p| p.is_dir()) {
        let pkg = pkg_dir.file_name().unwrap().to_str().unwrap().to_owned();
        let mut files: Vec<_> = std::fs::read_dir(&pkg_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for file in files
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "msg"))
        {
            let name = file.file_stem().unwrap().to_str().unwrap().to_owned();
            let text = std::fs::read_to_string(&file).unwrap();
            let spec = msgdef::parse(&pkg, &name, &text)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            specs.insert((pkg.clone(), name), spec);
        }
    }
    // The set must be closed: every referenced type has its own file.
    for spec in specs.values() {
        for dep in spec.dependencies() {
            assert!(
                specs.contains_key(&dep),
                "{}/{} references {}/{}, which has no .msg file",
                spec.package,
                spec.name,
                dep.0,
                dep.1
            );
        }
    }
    specs
}

fn rust_primitive(p: Primitive) -> &'static str {
    match p {
        Primitive::Bool => "bool",
        Primitive::Byte | Primitive::Char | Primitive::Uint8 => "u8",
        Primitive::Int8 => "i8",
        Primitive::Int16 => "i16",
        Primitive::Uint16 => "u16",
        Primitive::Int32 => "i32",
        Primitive::Uint32 => "u32",
        Primitive::Int64 => "i64",
        Primitive::Uint64 => "u64",
        Primitive::Float32 => "f32",
        Primitive::Float64 => "f64",
        Primitive::String => "alloc::string::String",
    }
}

fn rust_element(t: &FieldType) -> String {
    match t {
        FieldType::Primitive(p) => rust_primitive(*p).to_owned(),
        FieldType::Message(pkg, name) => format!("crate::{pkg}::{name}"),
    }
}

/// Test strategy for one element, so property tests stay small and JSON-safe
/// (no NaN or infinity, which JSON cannot carry to the Python oracle).
fn element_strategy(t: &FieldType) -> String {
    match t {
        FieldType::Primitive(Primitive::Float32) => "crate::arb::f32()".into(),
        FieldType::Primitive(Primitive::Float64) => "crate::arb::f64()".into(),
        FieldType::Primitive(Primitive::String) => "crate::arb::string()".into(),
        other => format!("proptest::prelude::any::<{}>()", rust_element(other)),
    }
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

fn ident(name: &str) -> String {
    if RUST_KEYWORDS.contains(&name) {
        format!("r#{name}")
    } else {
        name.to_owned()
    }
}

fn doc_lines(out: &mut String, indent: &str, text: &str) {
    for line in text.lines() {
        writeln!(out, "{indent}#[doc = {:?}]", format!(" {line}")).unwrap();
    }
}

fn emit_struct(out: &mut String, root: &Path, spec: &MsgSpec, specs: &Specs, name: &str) {
    let pkg = &spec.package;
    let mut doc = spec.doc.clone();
    if !doc.is_empty() {
        doc.push_str("\n\n");
    }
    write!(
        doc,
        "ROS 2 type `{pkg}/msg/{name}`, generated from `msgs/msg/{pkg}/{name}.msg`."
    )
    .unwrap();
    doc_lines(out, "    ", &doc);
    writeln!(
        out,
        "    #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]"
    )
    .unwrap();
    writeln!(
        out,
        "    #[cfg_attr(test, derive(proptest_derive::Arbitrary))]"
    )
    .unwrap();
    writeln!(out, "    pub struct {name} {{").unwrap();
    for field in &spec.fields {
        let field_doc = if field.doc.is_empty() {
            format!("`{}` in the `.msg` file.", field.type_text)
        } else {
            field.doc.clone()
        };
        doc_lines(out, "        ", &field_doc);
        let elem = rust_element(&field.ty);
        let strategy = element_strategy(&field.ty);
        let is_bytes = matches!(
            field.ty,
            FieldType::Primitive(Primitive::Uint8 | Primitive::Byte)
        );
        let rust_ty = match field.array {
            msgdef::Array::None => {
                if !strategy.starts_with("proptest") {
                    writeln!(
                        out,
                        "        #[cfg_attr(test, proptest(strategy = {strategy:?}))]"
                    )
                    .unwrap();
                }
                elem
            }
            msgdef::Array::Fixed(n) => {
                writeln!(out, "        #[serde(with = \"crate::cdr::FixedArray\")]").unwrap();
                let s = format!("crate::arb::array::<_, {n}>({strategy})");
                writeln!(out, "        #[cfg_attr(test, proptest(strategy = {s:?}))]").unwrap();
                format!("[{elem}; {n}]")
            }
            msgdef::Array::Unbounded | msgdef::Array::Bounded(_) => {
                if is_bytes {
                    writeln!(out, "        #[serde(with = \"serde_bytes\")]").unwrap();
                }
                let max = match field.array {
                    msgdef::Array::Bounded(n) => n.min(8),
                    _ if matches!(field.ty, FieldType::Message(..)) => 3,
                    _ => 16,
                };
                let s = format!("proptest::collection::vec({strategy}, 0..={max})");
                writeln!(out, "        #[cfg_attr(test, proptest(strategy = {s:?}))]").unwrap();
                format!("alloc::vec::Vec<{elem}>")
            }
        };
        writeln!(out, "        pub {}: {rust_ty},", ident(&field.name)).unwrap();
    }
    writeln!(out, "    }}").unwrap();

    // Default, with the defaults the .msg file declares (Quaternion's w = 1).
    writeln!(out, "    #[allow(clippy::derivable_impls)]").unwrap();
    writeln!(out, "    impl Default for {name} {{").unwrap();
    writeln!(out, "        fn default() -> Self {{").unwrap();
    writeln!(out, "            Self {{").unwrap();
    for field in &spec.fields {
        let value = match (&field.default, field.array) {
            (Some(v), msgdef::Array::None) => literal(&field.ty, v),
            (Some(_), _) => panic!("{pkg}/{name}: array defaults are not supported"),
            (None, msgdef::Array::Fixed(_)) => {
                "core::array::from_fn(|_| Default::default())".into()
            }
            (None, _) => "Default::default()".into(),
        };
        writeln!(out, "                {}: {value},", ident(&field.name)).unwrap();
    }
    writeln!(out, "            }}\n        }}\n    }}").unwrap();

    if !spec.constants.is_empty() {
        writeln!(out, "    impl {name} {{").unwrap();
        for c in &spec.constants {
            let doc = if c.doc.is_empty() {
                format!("`{}` in the `.msg` file.", c.name)
            } else {
                c.doc.clone()
            };
            doc_lines(out, "        ", &doc);
            let FieldType::Primitive(p) = c.ty else {
                panic!("constant of message type")
            };
            let ty = if p == Primitive::String {
                "&'static str"
            } else {
                rust_primitive(p)
            };
            writeln!(
                out,
                "        pub const {}: {ty} = {};",
                c.name,
                literal(&c.ty, &c.value)
            )
            .unwrap();
        }
        writeln!(out, "    }}").unwrap();
    }

    emit_encoder(out, spec, name);

    // Relative to the crate at compile time, not the build script's
    // absolute path: generated code that outlives a move of the checkout
    // (a copied target directory) must not point at the old place.
    debug_assert!(root.join(pkg).join(format!("{name}.msg")).exists());
    let msg_path = format!("/msg/{pkg}/{name}.msg");
    let full = full_definition(specs, (pkg.clone(), name.to_owned()));
    writeln!(out, "    impl crate::Message for {name} {{").unwrap();
    writeln!(
        out,
        "        const TYPE_NAME: &'static str = \"{pkg}/msg/{name}\";"
    )
    .unwrap();
    writeln!(
        out,
        "        const DEFINITION: &'static str = include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), {msg_path:?}));"
    )
    .unwrap();
    writeln!(
        out,
        "        const FULL_DEFINITION: &'static str = {full:?};"
    )
    .unwrap();
    writeln!(out, "    }}").unwrap();
}

/// Straight-line CDR encoding, field after field.
fn emit_encoder(out: &mut String, spec: &MsgSpec, name: &str) {
    let fields: Vec<String> = spec.fields.iter().map(|f| ident(&f.name)).collect();
    let chain = |call: &str| -> String {
        let mut body = String::new();
        for (i, f) in fields.iter().enumerate() {
            let expr = call.replace("FIELD", f);
            if i + 1 == fields.len() {
                writeln!(body, "            {expr}").unwrap();
            } else {
                writeln!(body, "            let pos = {expr};").unwrap();
            }
        }
        body
    };
    writeln!(out, "    impl crate::cdr::CdrEncode for {name} {{").unwrap();
    writeln!(out, "        #[inline]").unwrap();
    writeln!(out, "        fn cdr_end(&self, pos: usize) -> usize {{").unwrap();
    out.push_str(&chain("crate::cdr::CdrEncode::cdr_end(&self.FIELD, pos)"));
    writeln!(out, "        }}").unwrap();
    writeln!(out, "        #[inline]").unwrap();
    writeln!(
        out,
        "        fn cdr_write<const BE: bool>(&self, body: &mut [u8], pos: usize) -> usize {{"
    )
    .unwrap();
    out.push_str(&chain(
        "crate::cdr::CdrEncode::cdr_write::<BE>(&self.FIELD, body, pos)",
    ));
    writeln!(out, "        }}\n    }}").unwrap();
}

fn literal(ty: &FieldType, value: &str) -> String {
    let FieldType::Primitive(p) = ty else {
        panic!("literal of message type")
    };
    match p {
        Primitive::Bool => match value {
            "true" | "True" | "1" => "true".into(),
            "false" | "False" | "0" => "false".into(),
            other => panic!("bad bool literal {other}"),
        },
        Primitive::String => format!("{:?}", value.trim_matches(|c| c == '"' || c == '\'')),
        Primitive::Float32 | Primitive::Float64 => {
            let v: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("bad float literal {value}"));
            format!("{v:?}_{}", rust_primitive(*p))
        }
        _ => {
            let v: i128 = value
                .parse()
                .unwrap_or_else(|_| panic!("bad integer literal {value}"));
            format!("{v}_{}", rust_primitive(*p))
        }
    }
}

/// The schema text rosbag2 writes into MCAP for a type: its own `.msg` text,
/// then each dependency not yet written, depth first in the order of the
/// sorted dependency set, each behind a line of 80 `=` and `MSG: pkg/Name`.
fn full_definition(specs: &Specs, root: (String, String)) -> String {
    fn append(
        specs: &Specs,
        ty: &(String, String),
        seen: &mut BTreeSet<(String, String)>,
        out: &mut String,
    ) {
        let spec = &specs[ty];
        out.push_str(&spec.text);
        for dep in spec.dependencies() {
            if seen.insert(dep.clone()) {
                out.push('\n');
                out.push_str(&"=".repeat(80));
                out.push('\n');
                writeln!(out, "MSG: {}/{}", dep.0, dep.1).unwrap();
                append(specs, &dep, seen, out);
            }
        }
    }
    let mut out = String::new();
    append(specs, &root, &mut BTreeSet::new(), &mut out);
    out
}

fn emit_registry(out: &mut String, specs: &Specs) {
    writeln!(
        out,
        "/// Every message type this crate knows, sorted by name."
    )
    .unwrap();
    writeln!(out, "pub const ALL_TYPES: &[crate::TypeInfo] = &[").unwrap();
    for (pkg, name) in specs.keys() {
        writeln!(out, "    crate::TypeInfo::of::<crate::{pkg}::{name}>(),").unwrap();
    }
    writeln!(out, "];").unwrap();

    writeln!(
        out,
        "/// Calls `$callback!` with the path of every message type."
    )
    .unwrap();
    writeln!(out, "#[macro_export]").unwrap();
    writeln!(out, "macro_rules! for_all_messages {{").unwrap();
    writeln!(out, "    ($callback:ident) => {{ $callback!(").unwrap();
    for (pkg, name) in specs.keys() {
        writeln!(out, "        $crate::{pkg}::{name},").unwrap();
    }
    writeln!(out, "    ); }};").unwrap();
    writeln!(out, "}}").unwrap();
}
