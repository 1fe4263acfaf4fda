//! Smaller JSON schemas for `tools/list`, which every agent session reads whole.
//!
//! schemars writes exact Rust-flavoured schemas: `$schema` on every root, `format: uint32` and
//! `minimum: 0` on every count, `["integer", "null"]` for every optional field, and `$ref`s into
//! `$defs`. None of it helps a model call a tool, and together it is a third of the listing.
//! [`compact`] drops it:
//! - `$schema`, numeric `format`s and `minimum: 0`;
//! - `null` from optional fields: inputs are better omitted than null (serde still accepts
//!   null), and outputs skip absent fields rather than writing null;
//! - `$ref`s are inlined (our schemas are not recursive) and `$defs` removed.

use serde_json::{Map, Value};

/// The schema without what [`compact`] drops (see the module documentation).
pub fn compact(schema: &Map<String, Value>) -> Map<String, Value> {
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = schema.clone();
    out.remove("$schema");
    out.remove("$defs");
    let mut value = Value::Object(out);
    simplify(&mut value, &defs, 0);
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// Deeper than any schema of ours: a guard against a recursive `$ref`.
const MAX_DEPTH: usize = 32;

fn simplify(value: &mut Value, defs: &Map<String, Value>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::Object(map) => {
            inline_ref(map, defs);
            drop_null_alternative(map);
            // The alternative kept may itself have been a `$ref`.
            inline_ref(map, defs);
            drop_null_type(map);
            if map
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(is_numeric_format)
            {
                map.remove("format");
            }
            if map.get("minimum").and_then(Value::as_u64) == Some(0) {
                map.remove("minimum");
            }
            for v in map.values_mut() {
                simplify(v, defs, depth + 1);
            }
        }
        Value::Array(items) => {
            for v in items {
                simplify(v, defs, depth + 1);
            }
        }
        _ => {}
    }
}

/// Replaces `"$ref": "#/$defs/X"` by the fields of X (fields already present win).
fn inline_ref(map: &mut Map<String, Value>, defs: &Map<String, Value>) {
    let Some(target) = map
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| defs.get(name))
        .and_then(Value::as_object)
    else {
        return;
    };
    map.remove("$ref");
    for (key, v) in target {
        map.entry(key.clone()).or_insert_with(|| v.clone());
    }
}

fn is_numeric_format(format: &str) -> bool {
    matches!(
        format,
        "int8"
            | "int16"
            | "int32"
            | "int64"
            | "uint"
            | "uint8"
            | "uint16"
            | "uint32"
            | "uint64"
            | "float"
            | "double"
    )
}

/// `"type": ["string", "null"]` becomes `"type": "string"`.
fn drop_null_type(map: &mut Map<String, Value>) {
    let Some(Value::Array(types)) = map.get("type") else {
        return;
    };
    let kept: Vec<Value> = types
        .iter()
        .filter(|t| t.as_str() != Some("null"))
        .cloned()
        .collect();
    let replacement = match kept.as_slice() {
        [one] => one.clone(),
        _ => Value::Array(kept),
    };
    map.insert("type".to_owned(), replacement);
}

/// `"anyOf": [X, {"type": "null"}]` becomes X.
fn drop_null_alternative(map: &mut Map<String, Value>) {
    let Some(Value::Array(alternatives)) = map.get("anyOf") else {
        return;
    };
    let kept: Vec<&Value> = alternatives
        .iter()
        .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
        .collect();
    if let [Value::Object(only)] = kept.as_slice() {
        let only = only.clone();
        map.remove("anyOf");
        for (key, v) in only {
            map.entry(key).or_insert(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_drops_what_models_do_not_need() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "limit": {"description": "Max", "format": "uint32", "minimum": 0,
                          "type": ["integer", "null"]},
                "direction": {"anyOf": [{"$ref": "#/$defs/Dir"}, {"type": "null"}],
                              "description": "Which way"},
                "items": {"type": "array", "items": {"$ref": "#/$defs/Dir"}}
            },
            "$defs": {"Dir": {"type": "string", "enum": ["in", "out"]}}
        });
        let compacted = compact(schema.as_object().unwrap());
        assert_eq!(
            Value::Object(compacted),
            json!({
                "type": "object",
                "properties": {
                    "limit": {"description": "Max", "type": "integer"},
                    "direction": {"description": "Which way", "type": "string",
                                  "enum": ["in", "out"]},
                    "items": {"type": "array", "items": {"type": "string", "enum": ["in", "out"]}}
                }
            })
        );
    }
}
