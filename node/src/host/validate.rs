//! Checks a module's interface against ABI version 1 before it runs.
//!
//! The interface is read either from a `.wasm` (with wasmparser, which
//! needs no compilation and works for any target) or from a loaded
//! wasmtime `Module`; both give an [`Interface`], so both are checked by
//! the same code.

use std::fmt;

use serde::{Deserialize, Serialize};
use wasmtime::{ExternType, Module, ValType};

use super::HostError;
use fusion_abi::exports as names;

/// Imports the node provides: `module.field` names. Empty: the node offers
/// nothing yet (ABI.md), so every import is refused.
pub const ALLOWED_IMPORTS: &[&str] = &[];

/// A value type, as far as the ABI cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValKind {
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `v128`
    V128,
    /// Any reference type.
    Ref,
}

impl fmt::Display for ValKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValKind::I32 => "i32",
            ValKind::I64 => "i64",
            ValKind::F32 => "f32",
            ValKind::F64 => "f64",
            ValKind::V128 => "v128",
            ValKind::Ref => "ref",
        })
    }
}

/// What one export is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ExportKind {
    /// A function and its signature.
    Func {
        /// Parameter types.
        params: Vec<ValKind>,
        /// Result types.
        results: Vec<ValKind>,
    },
    /// A linear memory and its limits, in 64 KiB pages.
    Memory {
        /// Initial pages.
        min_pages: u64,
        /// Largest size the module declares, if any.
        max_pages: Option<u64>,
    },
    /// A table.
    Table,
    /// A global.
    Global,
    /// A tag or anything newer.
    Other,
}

/// One import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// The module name (`wasi_snapshot_preview1`).
    pub module: String,
    /// The field name (`fd_write`).
    pub name: String,
    /// `func`, `memory`, `table`, `global` or `tag`.
    pub kind: String,
}

/// One export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    /// Its name.
    pub name: String,
    /// What it is.
    #[serde(flatten)]
    pub kind: ExportKind,
}

/// A module's imports and exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Imports in declaration order.
    pub imports: Vec<Import>,
    /// Exports in declaration order.
    pub exports: Vec<Export>,
}

impl Interface {
    /// Reads the interface of a `.wasm` after validating the whole module
    /// with the Wasm features the engine enables.
    pub fn from_wasm(wasm: &[u8]) -> Result<Self, HostError> {
        let mut validator = wasmparser::Validator::new_with_features(
            wasmparser::WasmFeatures::default() | wasmparser::WasmFeatures::SIMD,
        );
        let types = validator
            .validate_all(wasm)
            .map_err(|e| HostError::Compile(e.to_string()))?;
        let types = types.as_ref();
        let entity = |ty: wasmparser::types::EntityType| -> ExportKind {
            use wasmparser::types::EntityType as E;
            match ty {
                E::Func(id) | E::FuncExact(id) => match types[id].composite_type.inner {
                    wasmparser::CompositeInnerType::Func(ref f) => ExportKind::Func {
                        params: f.params().iter().map(val_kind_parser).collect(),
                        results: f.results().iter().map(val_kind_parser).collect(),
                    },
                    _ => ExportKind::Other,
                },
                E::Memory(m) => ExportKind::Memory {
                    min_pages: m.initial,
                    max_pages: m.maximum,
                },
                E::Table(_) => ExportKind::Table,
                E::Global(_) => ExportKind::Global,
                E::Tag(_) => ExportKind::Other,
            }
        };
        let kind_name = |ty: &ExportKind| match ty {
            ExportKind::Func { .. } => "func",
            ExportKind::Memory { .. } => "memory",
            ExportKind::Table => "table",
            ExportKind::Global => "global",
            ExportKind::Other => "tag",
        };
        let imports = types
            .core_imports()
            .into_iter()
            .flatten()
            .map(|(module, name, ty)| Import {
                module: module.into(),
                name: name.into(),
                kind: kind_name(&entity(ty)).into(),
            })
            .collect();
        let exports = types
            .core_exports()
            .into_iter()
            .flatten()
            .map(|(name, ty)| Export {
                name: name.into(),
                kind: entity(ty),
            })
            .collect();
        Ok(Interface { imports, exports })
    }

    /// Reads the interface of a compiled module.
    pub fn from_module(module: &Module) -> Self {
        let kind = |ty: ExternType| match ty {
            ExternType::Func(f) => ExportKind::Func {
                params: f.params().map(|t| val_kind(&t)).collect(),
                results: f.results().map(|t| val_kind(&t)).collect(),
            },
            ExternType::Memory(m) => ExportKind::Memory {
                min_pages: m.minimum(),
                max_pages: m.maximum(),
            },
            ExternType::Table(_) => ExportKind::Table,
            ExternType::Global(_) => ExportKind::Global,
            ExternType::Tag(_) => ExportKind::Other,
        };
        Interface {
            imports: module
                .imports()
                .map(|i| Import {
                    module: i.module().into(),
                    name: i.name().into(),
                    kind: match i.ty() {
                        ExternType::Func(_) => "func",
                        ExternType::Memory(_) => "memory",
                        ExternType::Table(_) => "table",
                        ExternType::Global(_) => "global",
                        ExternType::Tag(_) => "tag",
                    }
                    .into(),
                })
                .collect(),
            exports: module
                .exports()
                .map(|e| Export {
                    name: e.name().into(),
                    kind: kind(e.ty()),
                })
                .collect(),
        }
    }

    /// The export called `name`.
    pub fn export(&self, name: &str) -> Option<&ExportKind> {
        self.exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| &e.kind)
    }
}

fn val_kind(t: &ValType) -> ValKind {
    match t {
        ValType::I32 => ValKind::I32,
        ValType::I64 => ValKind::I64,
        ValType::F32 => ValKind::F32,
        ValType::F64 => ValKind::F64,
        ValType::V128 => ValKind::V128,
        ValType::Ref(_) => ValKind::Ref,
    }
}

fn val_kind_parser(t: &wasmparser::ValType) -> ValKind {
    match t {
        wasmparser::ValType::I32 => ValKind::I32,
        wasmparser::ValType::I64 => ValKind::I64,
        wasmparser::ValType::F32 => ValKind::F32,
        wasmparser::ValType::F64 => ValKind::F64,
        wasmparser::ValType::V128 => ValKind::V128,
        wasmparser::ValType::Ref(_) => ValKind::Ref,
    }
}

/// What a module declares, as validation saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbiReport {
    /// Whether the optional state exports (`fusion_state_schema`,
    /// `fusion_snapshot`, `fusion_restore`) are all present.
    pub has_state_exports: bool,
    /// Every export name, sorted.
    pub exports: Vec<String>,
}

use ValKind::{I32, I64};

/// (name, params, results, required)
const SIGNATURES: &[(&str, &[ValKind], &[ValKind], bool)] = &[
    (names::ABI_VERSION, &[], &[I32], true),
    (names::INPUT_BUFFER, &[I32], &[I32], true),
    (names::INIT, &[I32], &[I32], true),
    (names::STEP, &[I32], &[I64], true),
    (names::LAST_ERROR, &[], &[I64], true),
    (names::STATE_SCHEMA, &[], &[I64], false),
    (names::SNAPSHOT, &[], &[I64], false),
    (names::RESTORE, &[I32], &[I32], false),
];

fn describe(params: &[ValKind], results: &[ValKind]) -> String {
    let list = |v: &[ValKind]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

/// Checks imports against `allowed` (`module.field` names), the memory
/// export and every export's signature. The ABI version itself is asked of
/// the instance.
pub fn validate_interface(interface: &Interface, allowed: &[&str]) -> Result<AbiReport, HostError> {
    if let Some(import) = interface
        .imports
        .iter()
        .find(|i| !allowed.contains(&format!("{}.{}", i.module, i.name).as_str()))
    {
        return Err(HostError::ForbiddenImport {
            module: import.module.clone(),
            name: import.name.clone(),
        });
    }
    match interface.export(names::MEMORY) {
        Some(ExportKind::Memory { .. }) => {}
        _ => return Err(HostError::MissingExport(names::MEMORY)),
    }
    let mut optional_present = 0;
    for &(name, params, results, required) in SIGNATURES {
        match interface.export(name) {
            Some(ExportKind::Func {
                params: p,
                results: r,
            }) if p == params && r == results => optional_present += usize::from(!required),
            Some(ExportKind::Func {
                params: p,
                results: r,
            }) => {
                return Err(HostError::WrongSignature {
                    name: name.into(),
                    expected: describe(params, results),
                    found: describe(p, r),
                });
            }
            Some(_) | None if required => return Err(HostError::MissingExport(name)),
            _ => {}
        }
    }
    let mut exports: Vec<String> = interface.exports.iter().map(|e| e.name.clone()).collect();
    exports.sort();
    Ok(AbiReport {
        has_state_exports: optional_present == 3,
        exports,
    })
}

/// [`validate_interface`] of a compiled module with the default allow-list.
pub fn validate(module: &Module) -> Result<AbiReport, HostError> {
    validate_interface(&Interface::from_module(module), ALLOWED_IMPORTS)
}
