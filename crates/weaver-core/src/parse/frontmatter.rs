//! Frontmatter: the `---` block at the very top of a note, read as YAML within hard budgets so
//! that an alias bomb or absurd nesting costs milliseconds and becomes a diagnostic.

use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use serde_saphyr::options::DuplicateKeyPolicy;
use serde_saphyr::{Error as YamlError, NonFiniteFloatPolicy};

use crate::{Diagnostic, DiagnosticCode, ParsedNote, Tag, TagSource};

/// Frontmatter larger than this is not parsed: no real note needs it, and the YAML parser's
/// cost grows with it.
const MAX_FRONTMATTER_BYTES: usize = 1024 * 1024;

/// Where the frontmatter block sits in the note.
#[derive(Debug)]
pub(super) struct Block {
    /// The whole block: opening fence to the closing fence's newline.
    pub range: Range<usize>,
    /// The YAML between the fences.
    pub yaml: Range<usize>,
}

/// If a line `---` starts `src` at `start` and a line `---` or `...` closes it, returns the
/// block. Trailing spaces after a fence are tolerated; anything else is not frontmatter.
pub(super) fn find(src: &str, start: usize) -> Option<Block> {
    let rest = src.get(start..)?;
    let first = rest.find('\n')?;
    if fence_kind(rest.get(..first)?) != Some(Fence::Dashes) {
        return None;
    }
    let yaml_start = start + first + 1;
    let mut line_start = yaml_start;
    while line_start < src.len() {
        let tail = src.get(line_start..)?;
        let (line, next) = match tail.find('\n') {
            Some(nl) => (tail.get(..nl)?, line_start + nl + 1),
            None => (tail, src.len()),
        };
        if fence_kind(line).is_some() {
            return Some(Block {
                range: start..next,
                yaml: yaml_start..line_start,
            });
        }
        line_start = next;
    }
    None
}

#[derive(Debug, PartialEq, Eq)]
enum Fence {
    Dashes,
    Dots,
}

/// Which fence `line` (without its `\n`) is, if any.
fn fence_kind(line: &str) -> Option<Fence> {
    match line.trim_end_matches([' ', '\t', '\r']) {
        "---" => Some(Fence::Dashes),
        "..." => Some(Fence::Dots),
        _ => None,
    }
}

/// Parses the YAML of a frontmatter block whose opening fence is on `line`, filling the note's
/// `frontmatter`, `title`, `aliases` and `tags` and reporting problems.
pub(super) fn read(yaml: &str, line: u32, note: &mut ParsedNote) {
    if yaml.len() > MAX_FRONTMATTER_BYTES {
        note.diagnostics.push(Diagnostic {
            code: DiagnosticCode::FrontmatterTooComplex,
            message: format!(
                "frontmatter is `{}` bytes, more than the limit of `{MAX_FRONTMATTER_BYTES}`",
                yaml.len()
            ),
            line: Some(line),
        });
        return;
    }
    let value = match serde_saphyr::from_str_with_options::<Json>(yaml, yaml_options()) {
        Ok(Json(value)) => value,
        Err(err) => {
            note.diagnostics.push(yaml_diagnostic(&err, yaml, line));
            return;
        }
    };
    let map = match value {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => {
            note.diagnostics.push(Diagnostic {
                code: DiagnosticCode::FrontmatterInvalid,
                message: format!(
                    "frontmatter is a `{}`, expected a mapping of properties",
                    kind_name(&other)
                ),
                line: Some(line),
            });
            return;
        }
    };
    if let Some(title) = map.get("title").and_then(scalar_text)
        && !title.is_empty()
    {
        note.title = title;
    }
    for key in ["aliases", "alias"] {
        match map.get(key) {
            Some(Value::Array(items)) => note.aliases.extend(
                items
                    .iter()
                    .filter_map(scalar_text)
                    .filter(|alias| !alias.is_empty()),
            ),
            Some(Value::String(list)) => note.aliases.extend(
                list.split(',')
                    .map(str::trim)
                    .filter(|alias| !alias.is_empty())
                    .map(str::to_owned),
            ),
            Some(other) => note.aliases.extend(scalar_text(other)),
            None => {}
        }
    }
    for key in ["tags", "tag"] {
        let texts: Vec<String> = match map.get(key) {
            Some(Value::Array(items)) => items.iter().filter_map(scalar_text).collect(),
            Some(other) => scalar_text(other).into_iter().collect(),
            None => Vec::new(),
        };
        for text in &texts {
            for name in text.split(|c: char| c == ',' || c.is_whitespace()) {
                let name = name.trim_start_matches('#').trim_end_matches('/');
                if name.bytes().any(|b| !b.is_ascii_digit() && b != b'/') {
                    note.tags.push(Tag {
                        name: name.to_owned(),
                        source: TagSource::Frontmatter,
                        line,
                    });
                }
            }
        }
    }
    note.frontmatter = Some(map);
}

/// Budgets sized for hand-written properties, far below what would hurt the indexer.
fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: 64,
            flow_nesting_limit: 64,
            max_events: 200_000,
            max_nodes: 100_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 10_000,
            max_replay_stack_depth: 16,
        },
        with_snippet: false,
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        duplicate_keys: DuplicateKeyPolicy::Error,
    };
    options.non_finite_float_policy = NonFiniteFloatPolicy::AsString;
    options
}

/// A YAML value read straight into JSON. Unlike `serde_json::Value`'s own `Deserialize`, it
/// accepts any mapping key and stringifies it (`1`, `true`, `null`, even `[a, b]`), since
/// Obsidian properties are a JSON-like object whatever the YAML spelled.
struct Json(Value);

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor).map(Json)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or_else(|_| Value::String(v.to_string()), Value::from))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        Ok(u64::try_from(v).map_or_else(|_| Value::String(v.to_string()), Value::from))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v)
            .map_or_else(|| Value::String(v.to_string()), Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::String(String::from_utf8_lossy(v).into_owned()))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Json(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(Json(key)) = map.next_key()? {
            let Json(value) = map.next_value()?;
            let key = match key {
                Value::String(key) => key,
                Value::Null => "null".to_owned(),
                other => other.to_string(),
            };
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Turns a YAML error into a diagnostic on the note's line (the YAML starts one line below the
/// opening fence).
fn yaml_diagnostic(err: &YamlError, yaml: &str, fence_line: u32) -> Diagnostic {
    let yaml_line = err
        .location()
        .and_then(|location| usize::try_from(location.line()).ok())
        .filter(|&l| l > 0)
        .map(|l| note_line(yaml, l));
    let line = yaml_line.map_or(fence_line, |l| fence_line.saturating_add(l));
    let text = err.to_string();
    // The error's own position counts lines inside the YAML; the diagnostic's line replaces it.
    let reason = text.split(" at line ").next().unwrap_or(&text);
    if is_over_budget(err) {
        Diagnostic {
            code: DiagnosticCode::FrontmatterTooComplex,
            message: format!("frontmatter exceeds the YAML limits: {reason}"),
            line: Some(line),
        }
    } else {
        Diagnostic {
            code: DiagnosticCode::FrontmatterInvalid,
            message: format!("frontmatter is not valid YAML: {reason}"),
            line: Some(line),
        }
    }
}

/// The note's line (counted by `\n`, 1-based) within `yaml` of YAML line `yaml_line`, which
/// also counts a lone `\r` as a line break; at most the YAML's last line.
fn note_line(yaml: &str, yaml_line: usize) -> u32 {
    let mut breaks = 0;
    let mut newlines = 0;
    let mut chars = yaml.chars().peekable();
    while breaks + 1 < yaml_line {
        match chars.next() {
            Some('\n') => newlines += 1,
            Some('\r') if chars.peek() == Some(&'\n') => continue,
            Some('\r') => {}
            Some(_) => continue,
            None => break,
        }
        breaks += 1;
    }
    let last = yaml.trim_end_matches('\n').matches('\n').count();
    u32::try_from(newlines.min(last) + 1).unwrap_or(u32::MAX)
}

/// True when the YAML was rejected for its cost rather than its syntax.
fn is_over_budget(err: &YamlError) -> bool {
    let mut err = err;
    while let YamlError::AliasError { error, .. } | YamlError::WithSnippet { error, .. } = err {
        err = error;
    }
    match err {
        YamlError::Budget { .. }
        | YamlError::AliasReplayCounterOverflow { .. }
        | YamlError::AliasReplayLimitExceeded { .. }
        | YamlError::AliasExpansionLimitExceeded { .. }
        | YamlError::AliasReplayStackDepthExceeded { .. } => true,
        // The scanner reports its nesting limit only as text.
        YamlError::ExternalMessage { msg, .. } => msg.contains("recursion limit"),
        _ => false,
    }
}

/// A scalar as text (numbers and booleans spelled out), trimmed; `None` for lists, maps, null.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_find(src: &str, expected: Option<(&str, &str)>) {
        let got = find(src, 0).map(|b| (&src[b.range], &src[b.yaml]));
        assert_eq!(got, expected, "input {src:?}");
    }

    fn check_keys(yaml: &str, expected: serde_json::Value) {
        let mut note = ParsedNote::default();
        read(yaml, 1, &mut note);
        assert!(
            note.diagnostics.is_empty(),
            "input {yaml:?}: {:?}",
            note.diagnostics
        );
        assert_eq!(
            note.frontmatter.map(Value::Object),
            Some(expected),
            "input {yaml:?}"
        );
    }

    #[test]
    fn keys_are_stringified() {
        check_keys(
            "1: a\n1.5: b\ntrue: c\n",
            serde_json::json!({"1": "a", "1.5": "b", "true": "c"}),
        );
        check_keys("null: a\n", serde_json::json!({"null": "a"}));
        check_keys("~: a\n", serde_json::json!({"null": "a"}));
        check_keys("? [a, b]\n: c\n", serde_json::json!({"[\"a\",\"b\"]": "c"}));
        check_keys("<<: {a: 1}\nb: 2\n", serde_json::json!({"a": 1, "b": 2}));
        check_keys(
            "x: .nan\ny: !custom foo\nz: 123456789012345678901234567890\n",
            serde_json::json!({"x": ".nan", "y": "foo", "z": 1.2345678901234568e29}),
        );
    }

    #[test]
    fn fences() {
        check_find("---\na: 1\n---\nbody", Some(("---\na: 1\n---\n", "a: 1\n")));
        check_find(
            "---\r\na: 1\r\n---\r\nbody",
            Some(("---\r\na: 1\r\n---\r\n", "a: 1\r\n")),
        );
        check_find("---  \na: 1\n...", Some(("---  \na: 1\n...", "a: 1\n")));
        check_find("---\n---\n", Some(("---\n---\n", "")));
        check_find("---\na: 1\n", None);
        check_find(" ---\na: 1\n---\n", None);
        check_find("----\na: 1\n---\n", None);
        check_find("---", None);
    }
}
