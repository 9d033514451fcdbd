//! Request parameters as Telegram reads them: from the query string and from a body in
//! `application/json`, `application/x-www-form-urlencoded` or `multipart/form-data`.
//!
//! Form, multipart and query values are strings; they are decoded by the parameter's declared
//! types (`"42"` for an Integer is 42, `"true"` for a Boolean is true, a JSON-serialized object
//! for an object or array type is that object). In JSON bodies scalars are taken as they are,
//! so `"chat_id": "42"` is a String, and `"message_id": "7"` breaks the contract; a string
//! where an object or array type is expected is decoded as JSON, the "JSON-serialized" form
//! the contract names.

use super::contract::MethodSpec;
use super::validate::Problem;
use serde_json::{Map, Value};

/// Collects the parameters of one request; `Err` when the body cannot be read at all.
pub(crate) fn collect(
    method: Option<&MethodSpec>,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<Map<String, Value>, Problem> {
    let mut params = Map::new();
    let mut put = |name: String, raw: String| {
        let value = decode(method, &name, raw);
        params.insert(name, value);
    };
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        put(name.into_owned(), value.into_owned());
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(params);
    }
    let content_type = content_type.unwrap_or_default();
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => {
            for (name, value) in form_urlencoded::parse(body) {
                put(name.into_owned(), value.into_owned());
            }
        }
        "multipart/form-data" => {
            let boundary = content_type
                .split(';')
                .filter_map(|p| p.trim().strip_prefix("boundary="))
                .map(|b| b.trim_matches('"'))
                .next()
                .ok_or_else(|| body_problem("multipart/form-data without a boundary"))?;
            for part in multipart(body, boundary).map_err(|e| body_problem(&e))? {
                let declared = method.is_some_and(|m| m.field(&part.name).is_some());
                match part.filename {
                    // A file uploaded for a declared InputFile parameter stands in as its name.
                    Some(file) if declared => put(part.name, format!("attach://{file}")),
                    // Files referred to as attach://<name> are not parameters themselves.
                    Some(_) => {}
                    None => put(part.name, String::from_utf8_lossy(&part.data).into_owned()),
                }
            }
        }
        "application/json" => {
            let json: Value = serde_json::from_slice(body)
                .map_err(|e| body_problem(&format!("the body is not JSON: {e}")))?;
            let Value::Object(object) = json else {
                return Err(body_problem("the JSON body is not an object"));
            };
            for (name, value) in object {
                let value = match value {
                    Value::String(s) if wants_structure(method, &name) => decode(method, &name, s),
                    other => other,
                };
                params.insert(name, value);
            }
        }
        other => return Err(body_problem(&format!("unsupported Content-Type {other:?}"))),
    }
    Ok(params)
}

fn body_problem(detail: &str) -> Problem {
    Problem {
        path: String::new(),
        detail: detail.to_string(),
        description: format!("Bad Request: {detail}"),
    }
}

fn declared<'a>(method: Option<&'a MethodSpec>, name: &str) -> &'a [String] {
    method
        .and_then(|m| m.field(name))
        .map(|f| f.types.as_slice())
        .unwrap_or_default()
}

fn is_structured(type_name: &str) -> bool {
    !matches!(
        type_name,
        "Integer" | "Float" | "Boolean" | "String" | "InputFile"
    )
}

fn wants_structure(method: Option<&MethodSpec>, name: &str) -> bool {
    let types = declared(method, name);
    types.iter().any(|t| is_structured(t)) && !types.iter().any(|t| t == "String")
}

/// A string value read by the parameter's declared types.
fn decode(method: Option<&MethodSpec>, name: &str, raw: String) -> Value {
    let types = declared(method, name);
    let has = |t: &str| types.iter().any(|d| d == t);
    if has("Integer")
        && let Ok(n) = raw.trim().parse::<i64>()
    {
        return Value::from(n);
    }
    if has("Float")
        && let Ok(x) = raw.trim().parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(x)
    {
        return Value::Number(n);
    }
    if has("Boolean") {
        match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => return Value::Bool(true),
            "false" | "0" => return Value::Bool(false),
            _ => {}
        }
    }
    let looks_like_json = raw.trim_start().starts_with(['{', '[']);
    if types.iter().any(|t| is_structured(t))
        && looks_like_json
        && let Ok(value) = serde_json::from_str::<Value>(&raw)
    {
        return value;
    }
    Value::String(raw)
}

struct Part {
    name: String,
    filename: Option<String>,
    data: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// A plain reading of a `multipart/form-data` body (RFC 7578), enough for Bot API requests.
fn multipart(body: &[u8], boundary: &str) -> Result<Vec<Part>, String> {
    let delimiter = format!("--{boundary}");
    let mut at =
        find(body, delimiter.as_bytes(), 0).ok_or("multipart body without its boundary")?;
    let mut parts = Vec::new();
    loop {
        at += delimiter.len();
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        let head_end = find(body, b"\r\n\r\n", at).ok_or("multipart part without headers")?;
        let next =
            find(body, delimiter.as_bytes(), head_end).ok_or("unterminated multipart body")?;
        let head = String::from_utf8_lossy(&body[at..head_end]);
        let mut data = &body[head_end + 4..next];
        data = data.strip_suffix(b"\r\n").unwrap_or(data);
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .ok_or("multipart part without Content-Disposition")?;
        let attribute = |key: &str| {
            disposition.split(';').map(str::trim).find_map(|p| {
                p.strip_prefix(key)
                    .and_then(|v| v.strip_prefix('='))
                    .map(|v| v.trim_matches('"').to_string())
            })
        };
        let name = attribute("name").ok_or("multipart part without a name")?;
        parts.push(Part {
            name,
            filename: attribute("filename"),
            data: data.to_vec(),
        });
        at = next;
    }
}
