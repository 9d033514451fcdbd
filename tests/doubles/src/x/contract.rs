//! The X API v2 contract (`shared/contracts/x-api-v2-openapi.json`), read as OpenAPI 3: the
//! operations the double serves, their query parameters, and a small validator of JSON values
//! against the document's schemas (`$ref`, `allOf`, `anyOf`, `oneOf`, objects with `required`
//! and `additionalProperties: false`, arrays with `minItems`/`maxItems`, scalar types and the
//! id and handle patterns).

use serde_json::Value;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The file name of the contract inside the contracts directory.
pub const CONTRACT_FILE: &str = "x-api-v2-openapi.json";

/// The X API v2 as the contract file describes it.
#[derive(Debug)]
pub struct XContract {
    doc: Value,
}

/// Where the contract file is: `SPORTELLO_CONTRACTS_DIR`, or `shared/contracts/` beside an
/// ancestor of this crate.
pub fn locate() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("SPORTELLO_CONTRACTS_DIR") {
        let path = PathBuf::from(dir).join(CONTRACT_FILE);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{} is not a file", path.display()))
        };
    }
    let start = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .map(|dir| dir.join("shared").join("contracts").join(CONTRACT_FILE))
        .find(|path| path.is_file())
        .ok_or_else(|| {
            format!(
                "no shared/contracts/{CONTRACT_FILE} beside any ancestor of {}; set SPORTELLO_CONTRACTS_DIR",
                start.display()
            )
        })
}

impl XContract {
    /// The contract, read once per process.
    ///
    /// # Panics
    /// When the file cannot be found or read.
    pub fn shared() -> Arc<XContract> {
        static CONTRACT: OnceLock<Arc<XContract>> = OnceLock::new();
        CONTRACT
            .get_or_init(|| {
                let path = locate().unwrap_or_else(|e| panic!("{e}"));
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let doc = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                Arc::new(XContract { doc })
            })
            .clone()
    }

    /// The operation `method` (lower case) on the path template, e.g. `/2/users/{id}/mentions`.
    pub fn operation(&self, method: &str, path: &str) -> Option<&Value> {
        self.doc.get("paths")?.get(path)?.get(method)
    }

    /// The names of the query parameters an operation accepts.
    pub fn query_params(&self, method: &str, path: &str) -> Vec<String> {
        let Some(op) = self.operation(method, path) else {
            return Vec::new();
        };
        op.get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| self.resolve(p))
            .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
            .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
            .collect()
    }

    /// The JSON schema of an operation's answer with `status` (or its `default`), as
    /// `application/json`, or `application/problem+json` when `problem`.
    pub fn response_schema(
        &self,
        method: &str,
        path: &str,
        status: u16,
        problem: bool,
    ) -> Option<&Value> {
        let responses = self.operation(method, path)?.get("responses")?;
        let response = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))?;
        let media = if problem {
            "application/problem+json"
        } else {
            "application/json"
        };
        response.get("content")?.get(media)?.get("schema")
    }

    /// The JSON schema of an operation's request body.
    pub fn request_schema(&self, method: &str, path: &str) -> Option<&Value> {
        self.operation(method, path)?
            .get("requestBody")?
            .get("content")?
            .get("application/json")?
            .get("schema")
    }

    /// A named schema of `components/schemas`.
    pub fn schema(&self, name: &str) -> Option<&Value> {
        self.doc.get("components")?.get("schemas")?.get(name)
    }

    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        let mut v = v;
        for _ in 0..16 {
            let Some(r) = v.get("$ref").and_then(Value::as_str) else {
                return v;
            };
            let mut target = &self.doc;
            for part in r.trim_start_matches("#/").split('/') {
                target = target.get(part).unwrap_or(&Value::Null);
            }
            v = target;
        }
        v
    }

    /// Every way `value` breaks `schema`, each naming where (`/data/0/id`).
    pub fn validate(&self, schema: &Value, value: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, value, "", &mut errors);
        errors
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.check(s, value, at, errors);
            }
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(any) = schema.get(key).and_then(Value::as_array)
                && !any
                    .iter()
                    .any(|s| self.validate_at(s, value, at).is_empty())
            {
                errors.push(format!("{at}: matches none of the {key} schemas"));
            }
        }
        let ty = schema.get("type").and_then(Value::as_str);
        match (ty, value) {
            (Some("object"), Value::Object(map)) => {
                let props = schema.get("properties").and_then(Value::as_object);
                for name in schema
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(name) = name.as_str()
                        && !map.contains_key(name)
                    {
                        errors.push(format!("{at}: missing required field {name:?}"));
                    }
                }
                let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
                for (k, v) in map {
                    match props.and_then(|p| p.get(k)) {
                        Some(s) => self.check(s, v, &format!("{at}/{k}"), errors),
                        None if closed => errors.push(format!("{at}: unknown field {k:?}")),
                        None => {}
                    }
                }
            }
            (Some("array"), Value::Array(items)) => {
                let n = items.len() as u64;
                if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                    && n < min
                {
                    errors.push(format!("{at}: {n} items, at least {min} required"));
                }
                if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                    && n > max
                {
                    errors.push(format!("{at}: {n} items, at most {max} allowed"));
                }
                if let Some(item) = schema.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.check(item, v, &format!("{at}/{i}"), errors);
                    }
                }
            }
            (Some("string"), Value::String(s)) => {
                if let Some(p) = schema.get("pattern").and_then(Value::as_str)
                    && !pattern_matches(p, s)
                {
                    errors.push(format!("{at}: {s:?} does not match {p}"));
                }
                if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                    && (s.chars().count() as u64) < min
                {
                    errors.push(format!("{at}: shorter than {min}"));
                }
            }
            (Some("integer"), Value::Number(n)) if n.is_i64() || n.is_u64() => {}
            (Some("number"), Value::Number(_)) => {}
            (Some("boolean"), Value::Bool(_)) => {}
            (None, _) => {}
            (Some(t), v) => errors.push(format!("{at}: expected {t}, got {v}")),
        }
    }

    fn validate_at(&self, schema: &Value, value: &Value, at: &str) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, value, at, &mut errors);
        errors
    }
}

/// The patterns of ids and handles; other patterns are not checked.
fn pattern_matches(pattern: &str, s: &str) -> bool {
    let class_len = |ok: fn(char) -> bool, max: usize| {
        !s.is_empty() && s.chars().count() <= max && s.chars().all(ok)
    };
    match pattern {
        "^[0-9]{1,19}$" => class_len(|c| c.is_ascii_digit(), 19),
        "^[A-Za-z0-9_]{1,15}$" => class_len(|c| c.is_ascii_alphanumeric() || c == '_', 15),
        "^([0-9]{1,19}-[0-9]{1,19}|[0-9]{15,19})$" => match s.split_once('-') {
            Some((a, b)) => [a, b]
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 19 && p.chars().all(|c| c.is_ascii_digit())),
            None => (15..=19).contains(&s.len()) && s.chars().all(|c| c.is_ascii_digit()),
        },
        _ => true,
    }
}
