//! Validation of request parameters (and of any value) against the [`Contract`]: unknown and
//! missing fields, types (primitives, arrays, objects recursively, unions), the length rules of
//! the descriptions, HTML parse mode, and the few rules the contract states only in prose.

use super::contract::{Contract, FieldSpec, MethodSpec};
use super::rules;
use serde_json::{Map, Value};

/// One breach of the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: a parameter name, or a path into it such as `reply_markup.inline_keyboard[0][1].text`.
    pub path: String,
    /// What is wrong, for people reading the violation list.
    pub detail: String,
    /// The `description` of the 400 answer, worded as Telegram words it where known.
    pub description: String,
}

impl Problem {
    pub(crate) fn new(path: &str, detail: impl Into<String>) -> Problem {
        let detail = detail.into();
        let description = format!("Bad Request: {}: {detail}", display(path));
        Problem {
            path: path.to_string(),
            detail,
            description,
        }
    }

    pub(crate) fn worded(path: &str, detail: impl Into<String>, description: &str) -> Problem {
        Problem {
            path: path.into(),
            detail: detail.into(),
            description: description.into(),
        }
    }
}

pub(crate) fn display(path: &str) -> &str {
    if path.is_empty() { "value" } else { path }
}

impl Contract {
    /// Every breach of the contract in the parameters of one call of `method`.
    pub fn validate_params(
        &self,
        method: &MethodSpec,
        params: &Map<String, Value>,
    ) -> Vec<Problem> {
        let mut out = Vec::new();
        self.check_fields(&method.fields, params, "", &mut out);
        rules::method_rules(&method.name, params, &mut out);
        out
    }

    /// Every breach of the contract in `value` taken as a `type_name` (e.g. `"Message"`,
    /// `"Array of Update"`, `"Integer"`); useful to check what a double answers.
    pub fn validate_value(&self, type_name: &str, value: &Value) -> Vec<Problem> {
        let mut out = Vec::new();
        self.check_type(type_name, value, "", &mut out);
        out
    }

    fn check_fields(
        &self,
        fields: &[FieldSpec],
        obj: &Map<String, Value>,
        path: &str,
        out: &mut Vec<Problem>,
    ) {
        let join = |name: &str| {
            if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            }
        };
        // JSON null counts as absent, as Telegram reads it.
        let present = |name: &str| obj.get(name).filter(|v| !v.is_null());
        for (name, value) in obj {
            if !value.is_null() && !fields.iter().any(|f| &f.name == name) {
                out.push(Problem::new(&join(name), "unknown parameter or field"));
            }
        }
        for field in fields {
            let here = join(&field.name);
            let Some(value) = present(&field.name) else {
                let needed = field.required
                    || (!field.required_unless.is_empty()
                        && field
                            .required_unless
                            .iter()
                            .all(|other| present(other).is_none()));
                if needed {
                    out.push(rules::missing(&here));
                }
                continue;
            };
            let before = out.len();
            self.check_union(&field.types, value, &here, out);
            if out.len() > before {
                continue;
            }
            if let (Some(expected), Some(got)) = (&field.constant, value.as_str())
                && expected != got
            {
                out.push(Problem::new(
                    &here,
                    format!("must be {expected:?}, got {got:?}"),
                ));
            }
            if field.name == "parse_mode" || field.name.ends_with("_parse_mode") {
                rules::check_parse_mode(&here, value, out);
            }
            if let (Some(rule), Some(text)) = (field.length, value.as_str()) {
                let mode = present(&format!("{}_parse_mode", field.name))
                    .or_else(|| present("parse_mode"))
                    .and_then(Value::as_str);
                rules::check_length(&here, &field.name, rule, text, mode, out);
            }
        }
    }

    fn check_union(&self, types: &[String], value: &Value, path: &str, out: &mut Vec<Problem>) {
        // The member meant is the one whose shape fits best: fewest problems at this level
        // (wrong kind, unknown or missing fields), then fewest problems deeper down.
        let shallow = |p: &Problem| {
            let rest = p.path.strip_prefix(path).unwrap_or(&p.path);
            let rest = rest.strip_prefix('.').unwrap_or(rest);
            !rest.contains(['.', '['])
        };
        let mut best: Option<((usize, usize), Vec<Problem>)> = None;
        for type_name in types {
            let mut found = Vec::new();
            self.check_type(type_name, value, path, &mut found);
            if found.is_empty() {
                return;
            }
            let score = (found.iter().filter(|p| shallow(p)).count(), found.len());
            if best.as_ref().is_none_or(|(s, _)| score < *s) {
                best = Some((score, found));
            }
        }
        let best = best.map(|(_, problems)| problems).unwrap_or_default();
        if types.len() > 1 && best.len() == 1 && best[0].path == path {
            // The value has none of the shapes: say which ones would do.
            let detail = format!("must be of type {}, got {value}", types.join(" or "));
            return out.push(Problem::new(path, detail));
        }
        out.extend(best);
    }

    fn check_type(&self, type_name: &str, value: &Value, path: &str, out: &mut Vec<Problem>) {
        let ok = match type_name {
            "Integer" => value.is_i64() || value.is_u64(),
            "Float" => value.is_number(),
            "Boolean" => value.is_boolean(),
            "String" | "InputFile" => value.is_string(),
            _ => {
                if let Some(element) = type_name.strip_prefix("Array of ") {
                    let Some(items) = value.as_array() else {
                        return out.push(Problem::new(path, format!("must be an {type_name}")));
                    };
                    for (i, item) in items.iter().enumerate() {
                        self.check_type(element, item, &format!("{path}[{i}]"), out);
                    }
                    return;
                }
                let Some(spec) = self.types.get(type_name) else {
                    return;
                };
                if !spec.subtypes.is_empty() {
                    return self.check_union(&spec.subtypes, value, path, out);
                }
                let Some(obj) = value.as_object() else {
                    return out.push(Problem::new(path, format!("must be a {type_name} object")));
                };
                if let Some(fields) = &spec.fields {
                    self.check_fields(fields, obj, path, out);
                    if spec.exactly_one_optional {
                        rules::check_exactly_one(&spec.name, fields, obj, path, out);
                    }
                }
                return;
            }
        };
        if !ok {
            out.push(Problem::new(
                path,
                format!("must be of type {type_name}, got {value}"),
            ));
        }
    }
}
