//! `GET /api/v1/openapi.json`: an OpenAPI 3.0 description generated from the API's route
//! table ([`crate::api::routes`]), with hand-written schemas for the bodies.

use axum::Json;
use serde_json::{Map, Value, json};

use super::routes;

fn schemas() -> Value {
    let conversation = json!({
        "type": "object",
        "properties": {
            "id": { "type": "integer" }, "channel": { "type": "string" }, "thread": { "type": "string" },
            "contact": { "type": "string" }, "contact_name": { "type": "string" },
            "unreachable": { "type": "boolean" }, "subject": { "type": "string", "nullable": true },
            "status": { "type": "string", "enum": ["bot", "queued", "assigned", "resolved"] },
            "assignee": { "type": "string", "nullable": true }, "office": { "type": "string", "nullable": true },
            "opened_at": { "type": "integer", "description": "unix ms" },
            "escalated_at": { "type": "integer", "nullable": true },
            "first_response_at": { "type": "integer", "nullable": true },
            "resolved_at": { "type": "integer", "nullable": true },
            "last_message_at": { "type": "integer" }
        }
    });
    let sheet = json!({
        "type": "object",
        "required": ["id", "title", "summary"],
        "properties": {
            "id": { "type": "string" }, "title": { "type": "string" },
            "summary": { "type": "string", "maxLength": 1000 }, "short": { "type": "string", "maxLength": 200 },
            "questions": { "type": "array", "items": { "type": "string" } },
            "keywords": { "type": "array", "items": { "type": "string" } },
            "tags": { "type": "array", "items": { "type": "string" } },
            "office": { "type": "string" }, "link": { "type": "string" }, "body": { "type": "string" },
            "handoff": { "type": "boolean" }, "status": { "type": "string", "enum": ["draft", "published"] }
        }
    });
    json!({
        "Error": {
            "type": "object", "required": ["error"],
            "properties": {
                "error": { "type": "string" },
                "fields": { "type": "object", "additionalProperties": { "type": "string" } }
            }
        },
        "Ok": { "type": "object", "properties": { "ok": { "type": "boolean" } } },
        "Created": { "type": "object", "additionalProperties": { "type": "integer" } },
        "Text": { "type": "object", "required": ["text"], "properties": { "text": { "type": "string" } } },
        "Transfer": { "type": "object", "required": ["office"], "properties": { "office": { "type": "string" } } },
        "Conversation": conversation,
        "ConversationList": {
            "type": "object",
            "properties": {
                "conversations": { "type": "array", "items": { "$ref": "#/components/schemas/Conversation" } },
                "limit": { "type": "integer" }, "offset": { "type": "integer" }
            }
        },
        "ConversationDetail": {
            "type": "object",
            "properties": {
                "conversation": { "$ref": "#/components/schemas/Conversation" },
                "messages": { "type": "array", "items": { "type": "object" } },
                "candidates": { "type": "array", "items": { "type": "object", "properties": {
                    "sheet_id": { "type": "string" }, "confidence": { "type": "number" }, "title": { "type": "string", "nullable": true } } } },
                "outbox": { "type": "array", "items": { "type": "object" } },
                "notes": { "type": "array", "items": { "type": "object" } },
                "office_notifications": { "type": "array", "items": { "type": "object" } },
                "proposed_phrasings": { "type": "array", "items": { "type": "object" } },
                "other_conversations": { "type": "array", "items": { "$ref": "#/components/schemas/Conversation" } },
                "text_limit": { "type": "integer" }
            }
        },
        "Sheet": sheet,
        "StoredSheet": {
            "type": "object",
            "properties": {
                "sheet": { "$ref": "#/components/schemas/Sheet" }, "revision": { "type": "integer" },
                "updated_at": { "type": "integer" }, "updated_by": { "type": "string", "nullable": true }
            }
        },
        "SheetList": { "type": "object", "properties": { "sheets": { "type": "array", "items": { "$ref": "#/components/schemas/StoredSheet" } } } },
        "Stats": {
            "type": "object",
            "description": "Cifre del periodo; tempi in millisecondi di apertura dell'ufficio, quote tra 0 e 1 (null senza dati)",
            "properties": {
                "from": { "type": "string", "format": "date" }, "to": { "type": "string", "format": "date" },
                "bucket": { "type": "string", "enum": ["day", "week"] }, "channel": { "type": "string", "nullable": true },
                "totals": { "$ref": "#/components/schemas/StatsCounts" },
                "periods": { "type": "array", "items": { "$ref": "#/components/schemas/StatsCounts" } },
                "channels": { "type": "array", "items": { "$ref": "#/components/schemas/StatsCounts" } },
                "first_response": { "$ref": "#/components/schemas/StatsTimes" },
                "resolution": { "$ref": "#/components/schemas/StatsTimes" },
                "feedback": { "type": "object", "properties": {
                    "answers": { "type": "integer" }, "answers_rated": { "type": "integer" }, "response_rate": { "type": "number", "nullable": true },
                    "useful": { "type": "integer" }, "not_useful": { "type": "integer" }, "share_positive": { "type": "number", "nullable": true } } },
                "ratings": { "type": "object", "properties": {
                    "count": { "type": "integer" }, "mean": { "type": "number", "nullable": true },
                    "distribution": { "type": "array", "items": { "type": "integer" }, "minItems": 5, "maxItems": 5 } } },
                "top_sheets": { "type": "array", "items": { "$ref": "#/components/schemas/SheetCount" } },
                "rejected_sheets": { "type": "array", "items": { "$ref": "#/components/schemas/SheetCount" } },
                "failure_reasons": { "type": "array", "items": { "type": "array", "items": {} } },
                "health": { "type": "array", "items": { "type": "object" } }
            }
        },
        "StatsCounts": {
            "type": "object",
            "description": "periods hanno start (AAAA-MM-GG), channels hanno channel",
            "properties": {
                "start": { "type": "string" }, "channel": { "type": "string" },
                "messages": { "type": "integer" }, "conversations": { "type": "integer" },
                "answer": { "type": "integer" }, "clarify": { "type": "integer" }, "smalltalk": { "type": "integer" },
                "handoff": { "type": "integer" }, "with_operator": { "type": "integer" },
                "auto_answer_rate": { "type": "number", "nullable": true }, "clarify_rate": { "type": "number", "nullable": true },
                "handoff_rate": { "type": "number", "nullable": true }, "delivery_failures": { "type": "integer" }
            }
        },
        "StatsTimes": { "type": "object", "properties": {
            "count": { "type": "integer" }, "waiting": { "type": "integer" },
            "median_ms": { "type": "integer", "nullable": true }, "p90_ms": { "type": "integer", "nullable": true } } },
        "SheetCount": { "type": "object", "properties": { "sheet_id": { "type": "string" }, "count": { "type": "integer" } } },
        "OpenApi": { "type": "object" }
    })
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

/// The description, as JSON.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in routes() {
        let mut op = Map::new();
        op.insert("summary".into(), json!(r.summary));
        if !r.roles.is_empty() {
            let roles: Vec<&str> = r.roles.iter().map(|r| r.as_str()).collect();
            op.insert(
                "description".into(),
                json!(format!("Ruoli: {} (e admin).", roles.join(", "))),
            );
        }
        let params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": if name == "id" && r.path.starts_with("/conversations") { "integer" } else { "string" } } }))
            .collect();
        let mut params = params;
        if r.path == "/conversations" {
            for (name, t) in [
                ("status", "string"),
                ("channel", "string"),
                ("office", "string"),
                ("q", "string"),
                ("limit", "integer"),
                ("offset", "integer"),
            ] {
                params.push(json!({ "name": name, "in": "query", "required": false, "schema": { "type": t } }));
            }
        }
        if r.path == "/stats" {
            for name in ["from", "to", "by", "channel"] {
                params.push(json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" } }));
            }
        }
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        if let Some(b) = r.body {
            op.insert("requestBody".into(), json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{b}") } } } }));
        }
        let ok = if r.response == "Created"
            || r.path == "/sheets" && r.method == axum::http::Method::POST
        {
            "201"
        } else {
            "200"
        };
        let mut responses = Map::new();
        responses.insert(ok.into(), json!({ "description": "ok", "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{}", r.response) } } } }));
        if !r.roles.is_empty() {
            responses.insert("401".into(), error_response("non autenticato"));
            responses.insert(
                "403".into(),
                error_response("ruolo non consentito, o token CSRF mancante"),
            );
            responses.insert("404".into(), error_response("non trovato"));
            responses.insert(
                "409".into(),
                error_response("conflitto (es. già presa in carico)"),
            );
            responses.insert("422".into(), error_response("dati non validi"));
        }
        op.insert("responses".into(), Value::Object(responses));
        if !r.roles.is_empty() {
            op.insert(
                "security".into(),
                json!([{ "bearer": [] }, { "session": [] }]),
            );
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method.as_str().to_lowercase()] = Value::Object(op);
    }
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Sportello API", "version": env!("CARGO_PKG_VERSION") },
        "servers": [{ "url": "/api/v1" }],
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "token spt_… (sportello token create)" },
                "session": { "type": "apiKey", "in": "cookie", "name": "sportello_session", "description": "richieste che modificano: header X-CSRF-Token" }
            }
        }
    })
}

/// Serve the description.
pub async fn serve() -> Json<Value> {
    Json(document())
}
