//! The Bot API contract (`shared/contracts/telegram-bot-api-9.1.json`): where to find it and
//! what it says, read into methods, types and fields with the rules their descriptions state.
//!
//! Validation of values against it lives in [`super::validate`].

use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The file name of the contract inside the contracts directory.
pub const CONTRACT_FILE: &str = "telegram-bot-api-9.1.json";

/// The Telegram Bot API as the contract file describes it.
#[derive(Debug)]
pub struct Contract {
    /// Methods by lower-case name (Telegram matches method names case-insensitively).
    methods: HashMap<String, MethodSpec>,
    pub(crate) types: HashMap<String, TypeSpec>,
}

/// One method of the API.
#[derive(Debug, Clone)]
pub struct MethodSpec {
    /// The name as the contract spells it, e.g. `sendMessage`.
    pub name: String,
    /// Its parameters; empty for methods such as `getMe` that take none.
    pub fields: Vec<FieldSpec>,
}

/// One type of the API: an object with fields, a union of subtypes, or an opaque type
/// (`InputFile`, `CallbackGame`) with neither.
#[derive(Debug, Clone)]
pub(crate) struct TypeSpec {
    pub name: String,
    pub fields: Option<Vec<FieldSpec>>,
    pub subtypes: Vec<String>,
    /// "Exactly one of the optional fields must be used" (e.g. `InlineKeyboardButton`).
    pub exactly_one_optional: bool,
}

/// A parameter of a method or a field of a type.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    /// Field name.
    pub name: String,
    /// Accepted types, e.g. `["Integer", "String"]` or `["Array of MessageEntity"]`; any of them.
    pub types: Vec<String>,
    /// Whether the contract marks it required.
    pub required: bool,
    /// The length rule of its description ("1-4096 characters", "1-64 bytes"), if any.
    pub length: Option<LengthRule>,
    /// "Required if X is not specified": required when none of these fields is present.
    pub required_unless: Vec<String>,
    /// The only value allowed (`always "emoji"`, `must be photo`): the tag of a union member.
    pub constant: Option<String>,
}

/// A length limit stated in a field's description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LengthRule {
    /// Smallest length allowed.
    pub min: usize,
    /// Largest length allowed.
    pub max: usize,
    /// Counted in UTF-8 bytes (otherwise in characters, i.e. Unicode scalar values).
    pub bytes: bool,
    /// Counted "after entities parsing", i.e. on the text the parse mode leaves.
    pub after_entities: bool,
}

impl Contract {
    /// The contract of this process, read once from [`locate`]'s file.
    ///
    /// # Panics
    /// When the file cannot be found or read: a test double without its contract is of no use.
    pub fn shared() -> Arc<Contract> {
        static CONTRACT: OnceLock<Result<Arc<Contract>, String>> = OnceLock::new();
        let loaded = CONTRACT.get_or_init(|| {
            let path = locate()?;
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let json: Value = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not JSON: {e}", path.display()))?;
            Contract::from_json(&json).map(Arc::new)
        });
        match loaded {
            Ok(contract) => Arc::clone(contract),
            Err(e) => panic!("Telegram Bot API contract unavailable: {e}"),
        }
    }

    /// Reads the contract from its JSON document (`{"methods": {..}, "types": {..}}`).
    pub fn from_json(json: &Value) -> Result<Contract, String> {
        let section = |key: &str| {
            json.get(key)
                .and_then(Value::as_object)
                .ok_or_else(|| format!("the contract has no `{key}` object"))
        };
        let mut methods = HashMap::new();
        for (name, spec) in section("methods")? {
            let fields = read_fields(spec);
            methods.insert(
                name.to_lowercase(),
                MethodSpec {
                    name: name.clone(),
                    fields,
                },
            );
        }
        let mut types = HashMap::new();
        for (name, spec) in section("types")? {
            let description = match spec.get("description") {
                Some(Value::Array(lines)) => lines
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            let subtypes = spec
                .get("subtypes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            let fields = spec.get("fields").map(|_| read_fields(spec));
            let exactly_one_optional =
                description.contains("Exactly one of the optional fields must be used");
            let spec = TypeSpec {
                name: name.clone(),
                fields,
                subtypes,
                exactly_one_optional,
            };
            types.insert(name.clone(), spec);
        }
        Ok(Contract { methods, types })
    }

    /// The method of that name, matched case-insensitively as Telegram does.
    pub fn method(&self, name: &str) -> Option<&MethodSpec> {
        self.methods.get(&name.to_lowercase())
    }

    /// Whether the contract describes a type of that name.
    pub fn has_type(&self, name: &str) -> bool {
        self.types.contains_key(name)
    }
}

impl MethodSpec {
    /// The parameter of that name.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Finds the contract file: `$SPORTELLO_CONTRACTS_DIR/telegram-bot-api-9.1.json` when that
/// variable is set, else `shared/contracts/telegram-bot-api-9.1.json` beside the nearest
/// ancestor of this crate's directory that has one (the repository's sibling `shared/`).
pub fn locate() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("SPORTELLO_CONTRACTS_DIR") {
        let path = PathBuf::from(dir).join(CONTRACT_FILE);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "SPORTELLO_CONTRACTS_DIR is set but {} is not a file",
                path.display()
            ))
        };
    }
    let start = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .map(|dir| dir.join("shared").join("contracts").join(CONTRACT_FILE))
        .find(|path| path.is_file())
        .ok_or_else(|| {
            format!(
                "no shared/contracts/{CONTRACT_FILE} beside any ancestor of {}; \
                 set SPORTELLO_CONTRACTS_DIR",
                start.display()
            )
        })
}

fn read_fields(spec: &Value) -> Vec<FieldSpec> {
    let Some(fields) = spec.get("fields").and_then(Value::as_array) else {
        return Vec::new();
    };
    fields
        .iter()
        .map(|f| {
            let text = |key: &str| f.get(key).and_then(Value::as_str).unwrap_or_default();
            let name = text("name").to_string();
            let description = text("description");
            let types = f
                .get("types")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            let constant = matches!(name.as_str(), "type" | "source" | "status")
                .then(|| constant_of(description))
                .flatten();
            FieldSpec {
                name,
                types,
                required: f.get("required").and_then(Value::as_bool).unwrap_or(false),
                length: length_rule(description),
                required_unless: required_unless(description),
                constant,
            }
        })
        .collect()
}

/// "…, 1-4096 characters after entities parsing" → 1..=4096 characters after entities.
pub(crate) fn length_rule(description: &str) -> Option<LengthRule> {
    let words: Vec<&str> = description.split_whitespace().collect();
    words.windows(2).find_map(|pair| {
        let range = pair[0].trim_start_matches(|c: char| !c.is_ascii_digit());
        let (min, max) = range.split_once('-')?;
        let (min, max) = (min.parse().ok()?, max.parse().ok()?);
        let bytes = if pair[1].starts_with("character") {
            false
        } else if pair[1].starts_with("byte") {
            true
        } else {
            return None;
        };
        let after_entities = description.contains("after entities parsing");
        Some(LengthRule {
            min,
            max,
            bytes,
            after_entities,
        })
    })
}

/// "Required if chat_id and message_id are not specified." → [chat_id, message_id].
fn required_unless(description: &str) -> Vec<String> {
    let Some(rest) = description.strip_prefix("Required if ") else {
        return Vec::new();
    };
    let Some(end) = rest
        .find(" is not specified")
        .or_else(|| rest.find(" are not specified"))
    else {
        return Vec::new();
    };
    rest[..end]
        .split(" and ")
        .map(|s| s.trim().to_string())
        .collect()
}

/// `Type of the reaction, always "emoji"` or `Scope type, must be default` → the tag.
fn constant_of(description: &str) -> Option<String> {
    if let Some((_, rest)) = description.split_once("always \"") {
        return rest.split_once('"').map(|(tag, _)| tag.to_string());
    }
    let (_, rest) = description.split_once(", must be ")?;
    let tag: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!tag.is_empty()).then_some(tag)
}
