//! The module: its source, magic bytes, memory cap and parameters
//! (`[module.swap]` is in `swap.rs`).

use super::*;

impl Validator<'_> {
    pub(super) fn module(&self, raw: &raw::RawModule) -> Result<Module> {
        let given = raw.path.get_ref();
        let source = if let Some(name) = given.strip_prefix("builtin:") {
            if given != BUILTIN_REFERENCE {
                return Err(self.err(
                    raw.path.span(),
                    format!("unknown built-in module `{name}`; the built-in module is `{BUILTIN_REFERENCE}`"),
                ));
            }
            ModuleSource::BuiltinReference
        } else {
            ModuleSource::File(self.path(&raw.path)?)
        };
        let memory_bytes = self.memory_bytes(raw)?;
        let parameters = self.parameters(raw)?;
        let swap = self.swap(raw.swap.as_ref(), &source)?;
        if source == ModuleSource::BuiltinReference {
            // Embedded in the binary and built with it: nothing to check.
            return Ok(Module {
                source,
                memory_bytes,
                parameters,
                swap,
            });
        }
        let path = source.path();
        let extension = path.extension().and_then(|e| e.to_str());
        let expected: &[u8; 4] = match extension {
            Some("wasm") => b"\0asm",
            // wasmtime's precompiled artifacts are ELF files.
            Some("cwasm") => b"\x7fELF",
            _ => {
                return Err(self.err(
                    raw.path.span(),
                    format!("module `{given}` must be a .wasm file or a .cwasm file precompiled by wasmtime"),
                ));
            }
        };
        let magic = self.readable(raw.path.span(), "module", &path)?;
        if &magic != expected {
            return Err(self.err(
                raw.path.span(),
                format!(
                    "module `{}` is not a {} file (wrong magic bytes)",
                    path.display(),
                    if expected == b"\0asm" {
                        "WebAssembly"
                    } else {
                        "precompiled .cwasm"
                    }
                ),
            ));
        }
        Ok(Module {
            source,
            memory_bytes,
            parameters,
            swap,
        })
    }

    /// `memory`: the cap on the module's linear memory, in bytes.
    fn memory_bytes(&self, raw: &raw::RawModule) -> Result<u64> {
        Ok(match &raw.memory {
            Some(m) => {
                let bytes = m.get_ref().0;
                if !(MIN_MEMORY_BYTES..=MAX_MEMORY_BYTES).contains(&bytes) {
                    return Err(self.err(m.span(), "memory is out of range: 1MiB to 4GiB"));
                }
                bytes
            }
            None => DEFAULT_MEMORY_BYTES,
        })
    }

    /// `[module.parameters]`: numbers and booleans, as ABI v1's float64.
    fn parameters(&self, raw: &raw::RawModule) -> Result<Vec<(String, f64)>> {
        raw
            .parameters
            .iter()
            .map(|(name, value)| {
                let number = match value.get_ref() {
                    toml::Value::Integer(i) => *i as f64,
                    toml::Value::Float(f) if f.is_finite() => *f,
                    toml::Value::Boolean(b) => f64::from(u8::from(*b)),
                    other => {
                        return Err(self.err(
                            value.span(),
                            format!(
                                "parameter `{name}` is a {}; module parameters are numbers or booleans (ABI v1 passes float64)",
                                other.type_str()
                            ),
                        ));
                    }
                };
                Ok((name.clone(), number))
            })
            .collect::<Result<_>>()
    }
}
