//! Setting and deleting one top-level frontmatter key by rewriting only that key's lines.
//!
//! A key's lines are its `key:` line plus the indented lines and block-sequence items after it.
//! Comments, blank lines, key order and the quoting of every other key stay as written. The
//! result is read back with the note parser and must equal the old properties with exactly the
//! one change; otherwise the edit is refused, so an unusual YAML layout can never be corrupted.

use std::ops::Range;

use serde_json::{Map, Value};

use super::layout::{is_blank, next_line_start};
use super::{EditError, parse};
use crate::{DiagnosticCode, ParsedNote, VaultPath};

/// What to do with the key.
pub(super) enum Change<'a> {
    Set(&'a Value),
    Delete,
}

/// Applies `change` to `key` in the frontmatter of `src` (parsed as `note`).
pub(super) fn edit(
    path: &VaultPath,
    src: &str,
    note: &ParsedNote,
    bom: usize,
    eol: &str,
    key: &str,
    change: &Change<'_>,
) -> Result<(String, ParsedNote), EditError> {
    check_key(key)?;
    let (new, expected) = match (&note.frontmatter_range, &note.frontmatter) {
        (None, _) => {
            let Change::Set(value) = change else {
                return Err(EditError::FrontmatterKeyNotFound(key.to_owned()));
            };
            let entry = entry(key, value);
            let head = src.get(..bom).unwrap_or("");
            let tail = src.get(bom..).unwrap_or("");
            let new = format!("{head}---{eol}{entry}{eol}---{eol}{tail}");
            let mut expected = Map::new();
            expected.insert(key.to_owned(), (*value).clone());
            (new, expected)
        }
        (Some(range), Some(map)) if !has_yaml_problem(note) => {
            let yaml = yaml_range(src, range);
            let found = entries(src, yaml.clone())
                .into_iter()
                .find(|e| e.key.as_deref() == Some(key));
            let mut expected = map.clone();
            let (replaced, text) = match (change, found) {
                (Change::Set(value), Some(found)) => {
                    // The key keeps its spelling, quotes included.
                    let written = src.get(found.key_text.clone()).unwrap_or(key);
                    (
                        found.lines,
                        format!("{written}: {}{eol}", block_value(value)),
                    )
                }
                (Change::Set(value), None) => {
                    (yaml.end..yaml.end, format!("{}{eol}", entry(key, value)))
                }
                (Change::Delete, Some(found)) => (found.lines, String::new()),
                (Change::Delete, None) if map.contains_key(key) => {
                    return Err(EditError::FrontmatterInvalid(format!(
                        "key `{key}` is written in a form this editor does not change"
                    )));
                }
                (Change::Delete, None) => {
                    return Err(EditError::FrontmatterKeyNotFound(key.to_owned()));
                }
            };
            match change {
                Change::Set(value) => {
                    expected.insert(key.to_owned(), (*value).clone());
                }
                Change::Delete => {
                    expected.remove(key);
                }
            }
            let new = format!(
                "{}{text}{}",
                src.get(..replaced.start).unwrap_or(""),
                src.get(replaced.end..).unwrap_or("")
            );
            (new, expected)
        }
        (Some(_), _) => {
            let reason = note
                .diagnostics
                .iter()
                .find(|d| is_yaml_problem(d.code))
                .map_or_else(
                    || "the frontmatter could not be read".to_owned(),
                    |d| d.message.clone(),
                );
            return Err(EditError::FrontmatterInvalid(reason));
        }
    };
    let parsed = parse(path, &new);
    if has_yaml_problem(&parsed) || parsed.frontmatter.as_ref() != Some(&expected) {
        return Err(EditError::FrontmatterInvalid(format!(
            "changing key `{key}` in place would change other properties or the YAML around it"
        )));
    }
    Ok((new, parsed))
}

fn is_yaml_problem(code: DiagnosticCode) -> bool {
    matches!(
        code,
        DiagnosticCode::FrontmatterInvalid | DiagnosticCode::FrontmatterTooComplex
    )
}

fn has_yaml_problem(note: &ParsedNote) -> bool {
    note.diagnostics.iter().any(|d| is_yaml_problem(d.code))
}

/// Keys are written quoted when they need it, so only keys that cannot be a property name
/// are refused: empty ones, ones with line breaks or other control characters, and ones with
/// surrounding whitespace (which Obsidian trims away).
fn check_key(key: &str) -> Result<(), EditError> {
    if key.is_empty() || key.trim() != key || key.chars().any(char::is_control) {
        return Err(EditError::InvalidKey(key.escape_debug().to_string()));
    }
    Ok(())
}

/// The YAML between the fences of the frontmatter block `block`.
fn yaml_range(src: &str, block: &Range<usize>) -> Range<usize> {
    let text = src.get(block.clone()).unwrap_or("");
    let start = block.start + text.find('\n').map_or(text.len(), |nl| nl + 1);
    let without_last_break = text.strip_suffix('\n').unwrap_or(text);
    let fence = block.start + without_last_break.rfind('\n').map_or(0, |nl| nl + 1);
    start..fence.max(start)
}

/// One top-level key and the bytes of its lines (each ending with its line break).
#[derive(Debug)]
struct Entry {
    /// The key, when this editor can read it.
    key: Option<String>,
    /// The key as written, quotes included.
    key_text: Range<usize>,
    lines: Range<usize>,
}

/// The top-level entries of the YAML in `yaml`. Blank and comment lines between entries
/// belong to no entry unless more of an entry's lines follow them.
fn entries(src: &str, yaml: Range<usize>) -> Vec<Entry> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut pos = yaml.start;
    while pos < yaml.end {
        let next = next_line_start(src, pos).min(yaml.end);
        let line = src.get(pos..next).unwrap_or("");
        let first = line.bytes().next().unwrap_or(b'\n');
        let is_sequence_item = first == b'-'
            && matches!(
                line.as_bytes().get(1),
                Some(b' ' | b'\t' | b'\r' | b'\n') | None
            );
        if is_blank(line) || first == b'#' {
            // Blank lines and comments at the margin join an entry only if it continues.
        } else if matches!(first, b' ' | b'\t') || is_sequence_item {
            if let Some(last) = entries.last_mut() {
                last.lines.end = next;
            }
        } else {
            let (key, key_len) = line_key(line.trim_end_matches(['\r', '\n'])).unzip();
            entries.push(Entry {
                key,
                key_text: pos..pos + key_len.unwrap_or(0),
                lines: pos..next,
            });
        }
        if next <= pos {
            break;
        }
        pos = next;
    }
    entries
}

/// The key of a top-level `key: value` line (plain, `"double"` or `'single'` quoted) and the
/// length of its spelling.
fn line_key(line: &str) -> Option<(String, usize)> {
    let (key, spelled, rest) = if let Some(inner) = line.strip_prefix('"') {
        let mut escaped = false;
        let close = inner.char_indices().find_map(|(i, c)| {
            let found = c == '"' && !escaped;
            escaped = c == '\\' && !escaped;
            found.then_some(i)
        })?;
        let quoted = line.get(..close + 2)?;
        let key: String = serde_json::from_str(quoted).ok()?;
        (key, quoted.len(), line.get(close + 2..)?)
    } else if let Some(inner) = line.strip_prefix('\'') {
        let mut i = 0;
        let bytes = inner.as_bytes();
        let close = loop {
            match bytes.get(i) {
                Some(b'\'') if bytes.get(i + 1) == Some(&b'\'') => i += 2,
                Some(b'\'') => break i,
                Some(_) => i += 1,
                None => return None,
            }
        };
        let key = inner.get(..close)?.replace("''", "'");
        (key, close + 2, inner.get(close + 1..)?)
    } else {
        if line.starts_with(['?', '{', '[', '&', '*', '!', '|', '>', '%', '@', '`', ':']) {
            return None;
        }
        let colon = line
            .match_indices(':')
            .map(|(i, _)| i)
            .find(|&i| matches!(line.as_bytes().get(i + 1), Some(b' ' | b'\t') | None))?;
        let key = line.get(..colon)?.trim_end();
        (key.to_owned(), key.len(), line.get(colon..)?)
    };
    rest.trim_start_matches([' ', '\t'])
        .starts_with(':')
        .then_some((key, spelled))
}

/// A `key: value` line.
fn entry(key: &str, value: &Value) -> String {
    let key = if plain_is_safe(key, true) {
        key.to_owned()
    } else {
        quote(key)
    };
    format!("{key}: {}", block_value(value))
}

/// A value at the top of a mapping: scalars plain when safe, collections in JSON flow style.
fn block_value(value: &Value) -> String {
    match value {
        Value::String(s) if plain_is_safe(s, false) => s.clone(),
        other => flow_value(other),
    }
}

/// A value in JSON flow style, which is valid YAML: strings always double-quoted.
fn flow_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(flow_value).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", quote(k), flow_value(v)))
                .collect();
            format!("{{{}}}", pairs.join(", "))
        }
    }
}

/// A JSON-style double-quoted string, which YAML reads the same way. Characters YAML treats
/// as line breaks or byte-order marks are escaped too.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// True when `s` can be written without quotes, as a key or as a value, and read back as the
/// same string: by our parser, and by YAML 1.1 readers too (no `yes`, `on`, numbers or
/// number-like text, except ISO dates, which Obsidian writes plain).
fn plain_is_safe(s: &str, as_key: bool) -> bool {
    let looks_like_date = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let starts_number_like =
        s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.'));
    let lower = s.to_ascii_lowercase();
    let reserved = matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "~"
    );
    if s.is_empty()
        || s.trim() != s
        || s.chars()
            .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}'))
        || reserved
        || (starts_number_like && !looks_like_date)
    {
        return false;
    }
    let probe = if as_key {
        format!("---\n{s}: x\n---\n")
    } else {
        format!("---\nk: {s}\n---\n")
    };
    let Ok(path) = VaultPath::new("probe.md") else {
        return false;
    };
    let note = parse(&path, &probe);
    let Some(map) = note.frontmatter else {
        return false;
    };
    let mut items = map.iter();
    match (items.next(), items.next()) {
        (Some((k, v)), None) if as_key => k == s && v.as_str() == Some("x"),
        (Some((k, v)), None) => k == "k" && v.as_str() == Some(s),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_lines() {
        let cases = [
            ("title: x", Some("title")),
            ("title:", Some("title")),
            ("my key : x", Some("my key")),
            ("\"a:b\": x", Some("a:b")),
            ("\"a\\\"b\" : x", Some("a\"b")),
            ("'it''s': x", Some("it's")),
            ("url:http", None),
            ("? complex", None),
            ("{a: 1}", None),
            ("a: b: c", Some("a")),
        ];
        for (line, expected) in cases {
            assert_eq!(
                line_key(line).map(|k| k.0).as_deref(),
                expected,
                "line {line:?}"
            );
        }
    }

    #[test]
    fn values() {
        let cases = [
            (Value::from("plain text"), "plain text"),
            (Value::from("2024-05-01"), "2024-05-01"),
            (Value::from("yes"), "\"yes\""),
            (Value::from("42"), "\"42\""),
            (Value::from("-x"), "\"-x\""),
            (Value::from("a: b"), "\"a: b\""),
            (Value::from("a #b"), "\"a #b\""),
            (Value::from("[x]"), "\"[x]\""),
            (Value::from(""), "\"\""),
            (Value::from("line\nbreak"), "\"line\\nbreak\""),
            (Value::from(3), "3"),
            (Value::from(1.5), "1.5"),
            (Value::Null, "null"),
            (serde_json::json!(["a", 1, null]), "[\"a\", 1, null]"),
            (serde_json::json!({"k": [true]}), "{\"k\": [true]}"),
        ];
        for (value, expected) in cases {
            assert_eq!(block_value(&value), expected, "value {value:?}");
        }
    }
}
