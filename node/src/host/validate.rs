//! Checks a compiled module against ABI version 1 before it runs.

use wasmtime::{ExternType, FuncType, Module, ValType};

use super::HostError;
use fusion_abi::exports as names;

/// What a module declares, as validation saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbiReport {
    /// Whether the optional state exports (`fusion_state_schema`,
    /// `fusion_snapshot`, `fusion_restore`) are all present.
    pub has_state_exports: bool,
    /// Every export name, sorted.
    pub exports: Vec<String>,
}

/// (name, params, results, required)
const SIGNATURES: &[(&str, &[ValType], &[ValType], bool)] = &[
    (names::ABI_VERSION, &[], &[ValType::I32], true),
    (names::INPUT_BUFFER, &[ValType::I32], &[ValType::I32], true),
    (names::INIT, &[ValType::I32], &[ValType::I32], true),
    (names::STEP, &[ValType::I32], &[ValType::I64], true),
    (names::LAST_ERROR, &[], &[ValType::I64], true),
    (names::STATE_SCHEMA, &[], &[ValType::I64], false),
    (names::SNAPSHOT, &[], &[ValType::I64], false),
    (names::RESTORE, &[ValType::I32], &[ValType::I32], false),
];

fn describe(params: &[ValType], results: &[ValType]) -> String {
    let list = |v: &[ValType]| {
        v.iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

fn matches(ty: &FuncType, params: &[ValType], results: &[ValType]) -> bool {
    let same = |a: &mut dyn ExactSizeIterator<Item = ValType>, b: &[ValType]| {
        a.len() == b.len() && a.zip(b).all(|(x, y)| ValType::eq(&x, y))
    };
    same(&mut ty.params(), params) && same(&mut ty.results(), results)
}

/// Checks imports (none allowed), the memory export and every export's
/// signature. The ABI version itself is asked of the instance.
pub fn validate(module: &Module) -> Result<AbiReport, HostError> {
    if let Some(import) = module.imports().next() {
        return Err(HostError::ForbiddenImport {
            module: import.module().into(),
            name: import.name().into(),
        });
    }
    match module.get_export(names::MEMORY) {
        Some(ExternType::Memory(_)) => {}
        _ => return Err(HostError::MissingExport(names::MEMORY)),
    }
    let mut optional_present = 0;
    for &(name, params, results, required) in SIGNATURES {
        match module.get_export(name) {
            Some(ExternType::Func(ty)) if matches(&ty, params, results) => {
                optional_present += usize::from(!required)
            }
            Some(ExternType::Func(ty)) => {
                return Err(HostError::WrongSignature {
                    name: name.into(),
                    expected: describe(params, results),
                    found: describe(
                        &ty.params().collect::<Vec<_>>(),
                        &ty.results().collect::<Vec<_>>(),
                    ),
                });
            }
            Some(_) | None if required => return Err(HostError::MissingExport(name)),
            _ => {}
        }
    }
    let mut exports: Vec<String> = module.exports().map(|e| e.name().to_owned()).collect();
    exports.sort();
    Ok(AbiReport {
        has_state_exports: optional_present == 3,
        exports,
    })
}
