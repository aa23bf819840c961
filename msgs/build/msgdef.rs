//! A parser for ROS 2 `.msg` files, covering what rosidl_adapter accepts for
//! the types this project ships: primitives, nested messages (with or
//! without a package), `T[]`, `T[N]`, `T[<=N]`, `string<=N`, constants and
//! field defaults. Used by the build script only.

use std::collections::BTreeSet;

/// A ROS 2 primitive type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    Bool,
    Byte,
    Char,
    Int8,
    Uint8,
    Int16,
    Uint16,
    Int32,
    Uint32,
    Int64,
    Uint64,
    Float32,
    Float64,
    String,
}

impl Primitive {
    fn from_name(name: &str) -> Option<Self> {
        // Bounded strings (`string<=10`) are plain strings on the wire.
        if name == "string" || name.starts_with("string<=") {
            return Some(Primitive::String);
        }
        Some(match name {
            "bool" => Primitive::Bool,
            "byte" => Primitive::Byte,
            "char" => Primitive::Char,
            "int8" => Primitive::Int8,
            "uint8" => Primitive::Uint8,
            "int16" => Primitive::Int16,
            "uint16" => Primitive::Uint16,
            "int32" => Primitive::Int32,
            "uint32" => Primitive::Uint32,
            "int64" => Primitive::Int64,
            "uint64" => Primitive::Uint64,
            "float32" => Primitive::Float32,
            "float64" => Primitive::Float64,
            _ => return None,
        })
    }
}

/// The element type of a field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    Primitive(Primitive),
    /// `(package, name)`.
    Message(String, String),
}

/// How many elements a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Array {
    None,
    Fixed(usize),
    Unbounded,
    Bounded(usize),
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    pub array: Array,
    /// The type as written in the file (`float64[36]`).
    pub type_text: String,
    pub default: Option<String>,
    pub doc: String,
}

#[derive(Debug, Clone)]
pub struct Constant {
    pub name: String,
    pub ty: FieldType,
    pub value: String,
    pub doc: String,
}

#[derive(Debug, Clone)]
pub struct MsgSpec {
    pub package: String,
    pub name: String,
    /// The file's text, verbatim.
    pub text: String,
    /// The leading comment block.
    pub doc: String,
    pub fields: Vec<Field>,
    pub constants: Vec<Constant>,
}

impl MsgSpec {
    /// The message types this one refers to, sorted, without duplicates.
    pub fn dependencies(&self) -> BTreeSet<(String, String)> {
        self.fields
            .iter()
            .filter_map(|f| match &f.ty {
                FieldType::Message(p, n) => Some((p.clone(), n.clone())),
                FieldType::Primitive(_) => None,
            })
            .collect()
    }
}

/// Splits `line` into its content and its comment (without the `#`).
fn split_comment(line: &str) -> (&str, &str) {
    match line.find('#') {
        Some(i) => (&line[..i], line[i + 1..].trim()),
        None => (line, ""),
    }
}

pub fn parse(package: &str, name: &str, text: &str) -> Result<MsgSpec, String> {
    let mut spec = MsgSpec {
        package: package.to_owned(),
        name: name.to_owned(),
        text: text.to_owned(),
        doc: String::new(),
        fields: Vec::new(),
        constants: Vec::new(),
    };
    let mut pending_doc: Vec<&str> = Vec::new();
    let mut seen_content = false;
    for (lineno, raw) in text.lines().enumerate() {
        let at = |msg: String| format!("line {}: {msg}", lineno + 1);
        let (content, comment) = split_comment(raw);
        let content = content.trim();
        if content.is_empty() {
            if raw.trim_start().starts_with('#') {
                pending_doc.push(comment);
            } else {
                // A blank line ends a comment block; the first block is the
                // message's own documentation.
                if !seen_content && spec.doc.is_empty() && !pending_doc.is_empty() {
                    spec.doc = pending_doc.join("\n");
                }
                pending_doc.clear();
            }
            continue;
        }
        seen_content = true;
        let mut doc_parts: Vec<&str> = std::mem::take(&mut pending_doc);
        if !comment.is_empty() {
            doc_parts.push(comment);
        }
        let doc = doc_parts.join("\n").trim().to_owned();

        let (type_text, rest) = content
            .split_once(char::is_whitespace)
            .ok_or_else(|| at(format!("expected `TYPE NAME`, found `{content}`")))?;
        let rest = rest.trim();
        let (base, array) = parse_array(type_text).map_err(&at)?;
        let ty = match Primitive::from_name(base) {
            Some(p) => FieldType::Primitive(p),
            None => match base.split_once('/') {
                Some((pkg, n)) => FieldType::Message(pkg.to_owned(), n.to_owned()),
                None => FieldType::Message(package.to_owned(), base.to_owned()),
            },
        };
        if let Some((cname, value)) = rest.split_once('=') {
            if array != Array::None {
                return Err(at("array constants are not supported".into()));
            }
            spec.constants.push(Constant {
                name: cname.trim().to_owned(),
                ty,
                value: value.trim().to_owned(),
                doc,
            });
        } else {
            let (fname, default) = match rest.split_once(char::is_whitespace) {
                Some((n, d)) => (n, Some(d.trim().to_owned())),
                None => (rest, None),
            };
            if !fname
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(at(format!("field name `{fname}` is not snake_case")));
            }
            spec.fields.push(Field {
                name: fname.to_owned(),
                ty,
                array,
                type_text: type_text.to_owned(),
                default,
                doc,
            });
        }
    }
    if spec.fields.is_empty() {
        return Err("a message needs at least one field".into());
    }
    Ok(spec)
}

fn parse_array(type_text: &str) -> Result<(&str, Array), String> {
    let Some(open) = type_text.find('[') else {
        return Ok((type_text, Array::None));
    };
    let base = &type_text[..open];
    let inner = type_text[open + 1..]
        .strip_suffix(']')
        .ok_or_else(|| format!("unterminated array in `{type_text}`"))?;
    let array = if inner.is_empty() {
        Array::Unbounded
    } else if let Some(n) = inner.strip_prefix("<=") {
        Array::Bounded(
            n.parse()
                .map_err(|_| format!("bad bound in `{type_text}`"))?,
        )
    } else {
        Array::Fixed(
            inner
                .parse()
                .map_err(|_| format!("bad size in `{type_text}`"))?,
        )
    };
    Ok((base, array))
}
