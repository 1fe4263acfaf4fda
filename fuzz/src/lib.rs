//! Shared pieces of the fuzz targets: the input layout, text generators and the "bytes outside
//! the target are unchanged" checks for note edits.
//!
//! Inputs are laid out as `[n][n bytes of choices][the note's bytes]`: the choices (which
//! operations, which heading, what text) come from a small [`Unstructured`] prefix, and the
//! note itself is the rest of the input, so a seed can be any note with a short prefix and
//! libFuzzer's mutations of the note stay mutations of the note.

use std::ops::Range;

use arbitrary::{Arbitrary, Unstructured};
use serde_json::{Map, Value};
use weaver_core::{EditOp, ParseOptions, ParsedNote, VaultPath, parse_note};

/// Splits an input into its choice bytes and the note's bytes.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (&[], &[]);
    };
    rest.split_at(usize::from(n).min(rest.len()))
}

/// The note path every target parses as.
pub fn note_path() -> VaultPath {
    VaultPath::new("Folder/Note.md").expect("a valid path")
}

/// Parses `text` the way `apply_edits` does (no size limit).
pub fn parse(text: &str) -> ParsedNote {
    let options = ParseOptions {
        max_file_bytes: u64::MAX,
    };
    parse_note(&note_path(), text.as_bytes(), &options)
}

/// Markdown that tends to interact with its neighbours: fences, headings, setext underlines,
/// block ids, quotes, lists, HTML comments, frontmatter fences, line-ending oddities.
const SNIPPETS: &[&str] = &[
    "",
    "text",
    "# Heading",
    "## Tasks",
    "===",
    "---",
    "- - -",
    "```",
    "~~~",
    "    indented code",
    "^block",
    "para ^id",
    "> quote",
    "> [!note] Title",
    "- item",
    "- [ ] task",
    "1. one",
    "<!--",
    "-->",
    "<div>",
    "$$",
    "%%",
    "[[Link]]",
    "[ref]: x.md",
    "| a | b |\n| - | - |",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    "line\nline",
    "tail\n",
    "\u{feff}",
    "  ",
    "\t",
    "...",
    "key: value",
    "- yaml item",
    "# ",
    "#tag",
    "\\",
];

/// Text to write: free text, a snippet, or snippets and free text glued together.
#[derive(Debug, Arbitrary)]
pub enum Text {
    Free(String),
    Snippet(u8),
    Two(u8, u8),
    SnippetFree(u8, String),
    FreeSnippet(String, u8),
}

fn snippet(i: u8) -> &'static str {
    SNIPPETS
        .get(usize::from(i) % SNIPPETS.len())
        .copied()
        .unwrap_or("")
}

impl Text {
    pub fn render(&self) -> String {
        match self {
            Text::Free(s) => s.clone(),
            Text::Snippet(i) => snippet(*i).to_owned(),
            Text::Two(a, b) => format!("{}\n{}", snippet(*a), snippet(*b)),
            Text::SnippetFree(i, s) => format!("{}{s}", snippet(*i)),
            Text::FreeSnippet(s, i) => format!("{s}{}", snippet(*i)),
        }
    }
}

/// A heading, block or key named either by its index among the note's own (so edits hit real
/// targets) or by free text (so the lookup itself is fuzzed).
#[derive(Debug, Arbitrary)]
pub enum Name {
    Index(u8),
    /// The indexed heading with its level written out (`## Tasks`).
    WithLevel(u8),
    /// The indexed heading under its parent (`Parent#Child`).
    WithParent(u8),
    Free(String),
}

/// A JSON value for `SetFrontmatter`, kept small.
#[derive(Debug, Arbitrary)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Text),
    List(Vec<Text>),
    Object(Vec<(String, i32)>),
    Nested(Vec<Vec<Option<i16>>>),
}

impl Json {
    pub fn render(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(i) => Value::from(*i),
            Json::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Json::Str(t) => Value::String(t.render()),
            Json::List(items) => {
                Value::Array(items.iter().map(|t| Value::from(t.render())).collect())
            }
            Json::Object(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(*v)))
                    .collect::<Map<String, Value>>(),
            ),
            Json::Nested(rows) => Value::Array(
                rows.iter()
                    .map(|row| {
                        Value::Array(
                            row.iter()
                                .map(|v| v.map_or(Value::Null, Value::from))
                                .collect(),
                        )
                    })
                    .collect(),
            ),
        }
    }
}

/// One fuzzed edit, resolved against the note it applies to.
#[derive(Debug, Arbitrary)]
pub enum OpSpec {
    Append(Text),
    Prepend(Text),
    InsertBeforeHeading(Name, Text),
    InsertAfterHeading(Name, Text),
    AppendToSection(Name, Text),
    ReplaceSection(Name, Text),
    ReplaceBlock(Name, Text),
    AppendToBlock(Name, Text),
    SetFrontmatter(Name, Json),
    DeleteFrontmatter(Name),
    /// Find a slice of the note (`start`, `len` in bytes, snapped to characters) or free text.
    FindReplace {
        slice: Option<(u16, u8)>,
        free: String,
        replace: Text,
        expected: Option<u8>,
    },
}

fn pick<T>(items: &[T], i: u8) -> Option<&T> {
    if items.is_empty() {
        None
    } else {
        items.get(usize::from(i) % items.len())
    }
}

fn heading_name(note: &ParsedNote, name: &Name) -> String {
    let text = |i: u8| {
        pick(&note.headings, i)
            .map(|h| h.text.clone())
            .unwrap_or_default()
    };
    match name {
        Name::Index(i) => text(*i),
        Name::WithLevel(i) => match pick(&note.headings, *i) {
            Some(h) => format!("{} {}", "#".repeat(usize::from(h.level)), h.text),
            None => String::new(),
        },
        Name::WithParent(i) => {
            let index = usize::from(*i) % note.headings.len().max(1);
            let Some(h) = note.headings.get(index) else {
                return String::new();
            };
            let parent = note
                .headings
                .get(..index)
                .unwrap_or(&[])
                .iter()
                .rev()
                .find(|p| p.level < h.level);
            match parent {
                Some(p) => format!("{}#{}", p.text, h.text),
                None => h.text.clone(),
            }
        }
        Name::Free(s) => s.clone(),
    }
}

fn block_name(note: &ParsedNote, name: &Name) -> String {
    match name {
        Name::Index(i) => pick(&note.blocks, *i)
            .map(|b| b.id.clone())
            .unwrap_or_default(),
        Name::WithLevel(i) | Name::WithParent(i) => pick(&note.blocks, *i)
            .map(|b| format!("^{}", b.id.to_uppercase()))
            .unwrap_or_default(),
        Name::Free(s) => s.clone(),
    }
}

fn key_name(note: &ParsedNote, name: &Name) -> String {
    let keys: Vec<&String> = note.frontmatter.iter().flat_map(|m| m.keys()).collect();
    match name {
        Name::Index(i) | Name::WithLevel(i) | Name::WithParent(i) => pick(&keys, *i)
            .map(|k| (*k).clone())
            .unwrap_or_else(|| format!("new{i}")),
        Name::Free(s) => s.clone(),
    }
}

/// The largest char boundary of `s` at or before `i`.
fn floor_char(s: &str, i: usize) -> usize {
    let mut i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl OpSpec {
    /// The concrete operation on the note `src` (parsed as `note`).
    pub fn resolve(&self, src: &str, note: &ParsedNote) -> EditOp {
        match self {
            OpSpec::Append(t) => EditOp::Append { text: t.render() },
            OpSpec::Prepend(t) => EditOp::Prepend { text: t.render() },
            OpSpec::InsertBeforeHeading(n, t) => EditOp::InsertBeforeHeading {
                heading: heading_name(note, n),
                text: t.render(),
            },
            OpSpec::InsertAfterHeading(n, t) => EditOp::InsertAfterHeading {
                heading: heading_name(note, n),
                text: t.render(),
            },
            OpSpec::AppendToSection(n, t) => EditOp::AppendToSection {
                heading: heading_name(note, n),
                text: t.render(),
            },
            OpSpec::ReplaceSection(n, t) => EditOp::ReplaceSection {
                heading: heading_name(note, n),
                text: t.render(),
            },
            OpSpec::ReplaceBlock(n, t) => EditOp::ReplaceBlock {
                block: block_name(note, n),
                text: t.render(),
            },
            OpSpec::AppendToBlock(n, t) => EditOp::AppendToBlock {
                block: block_name(note, n),
                text: t.render(),
            },
            OpSpec::SetFrontmatter(n, v) => EditOp::SetFrontmatter {
                key: key_name(note, n),
                value: v.render(),
            },
            OpSpec::DeleteFrontmatter(n) => EditOp::DeleteFrontmatter {
                key: key_name(note, n),
            },
            OpSpec::FindReplace {
                slice,
                free,
                replace,
                expected,
            } => {
                let find = match slice {
                    Some((start, len)) if !src.is_empty() => {
                        let start = floor_char(src, usize::from(*start) % src.len());
                        let end = floor_char(src, start + usize::from(*len));
                        src.get(start..end).unwrap_or("").to_owned()
                    }
                    _ => free.clone(),
                };
                EditOp::FindReplace {
                    find,
                    replace: replace.render(),
                    expected: expected.map(usize::from),
                }
            }
        }
    }
}

/// Reads up to `max` operations from the choice bytes.
pub fn op_specs(choices: &[u8], max: usize) -> Vec<OpSpec> {
    let mut u = Unstructured::new(choices);
    let mut ops = Vec::new();
    while ops.len() < max && !u.is_empty() {
        let Ok(op) = OpSpec::arbitrary(&mut u) else {
            break;
        };
        ops.push(op);
    }
    ops
}

/// Length of the common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Length of the common suffix of `a` and `b`.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// True when `out` is `src[..lo] + X + src[hi..]` for some `X`: every byte of `src` outside
/// `lo..hi` is kept, in place.
pub fn spliced(src: &str, out: &str, lo: usize, hi: usize) -> bool {
    let (s, o) = (src.as_bytes(), out.as_bytes());
    lo <= hi
        && hi <= s.len()
        && lo <= common_prefix(s, o)
        && s.len() - hi <= common_suffix(s, o)
        && lo + (s.len() - hi) <= o.len()
}

/// True when `out` is `src` with text inserted at one position between `lo` and `hi`.
pub fn inserted_within(src: &str, out: &str, lo: usize, hi: usize) -> bool {
    let (s, o) = (src.as_bytes(), out.as_bytes());
    if o.len() < s.len() {
        return false;
    }
    let earliest = lo.max(s.len() - common_suffix(s, o));
    let latest = hi.min(common_prefix(s, o));
    earliest <= latest
}

/// Start of the line holding `pos`.
pub fn line_start(src: &str, pos: usize) -> usize {
    src.get(..pos)
        .and_then(|b| b.rfind('\n'))
        .map_or(0, |nl| nl + 1)
}

/// Start of the line after the one holding `pos` (or the end of `src`).
pub fn next_line_start(src: &str, pos: usize) -> usize {
    src.get(pos..)
        .and_then(|r| r.find('\n'))
        .map_or(src.len(), |nl| pos + nl + 1)
}

/// End of 1-based line `line`, without its line break.
pub fn line_end(src: &str, line: u32) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match src.get(start..).and_then(|r| r.find('\n')) {
            Some(nl) => start += nl + 1,
            None => return src.len(),
        }
    }
    let rest = src.get(start..).unwrap_or("");
    let len = rest.find('\n').unwrap_or(rest.len());
    let end = start + len;
    if src.get(..end).is_some_and(|b| b.ends_with('\r')) {
        end - 1
    } else {
        end
    }
}

/// Where the body starts: after the frontmatter, else after a BOM.
pub fn body_start(src: &str, note: &ParsedNote) -> usize {
    let bom = if src.starts_with('\u{feff}') { 3 } else { 0 };
    note.frontmatter_range.as_ref().map_or(bom, |r| r.end)
}

/// The byte range of heading `index`'s section: from its line to the line of the next heading
/// of the same or a higher level, or the end of the note.
pub fn section_end(src: &str, note: &ParsedNote, index: usize) -> usize {
    let Some(h) = note.headings.get(index) else {
        return src.len();
    };
    note.headings
        .iter()
        .skip(index + 1)
        .find(|n| n.level <= h.level)
        .map_or(src.len(), |n| line_start(src, n.range.start))
}

/// The YAML between the fences of the frontmatter `range` (whole block).
pub fn yaml_range(src: &str, range: &Range<usize>) -> Range<usize> {
    let start = next_line_start(src, range.start).min(range.end);
    let block = src.get(range.clone()).unwrap_or("");
    let without_last = block.strip_suffix('\n').unwrap_or(block);
    let fence = range.start + without_last.rfind('\n').map_or(0, |nl| nl + 1);
    start..fence.max(start)
}

/// Single-key lines of the YAML in `src` other than `key`'s: `(line, key)`. Each line is read on
/// its own by the note parser, so this does not depend on the editor's own line splitting.
fn other_key_lines(src: &str, note: &ParsedNote, key: &str) -> Vec<String> {
    let Some(range) = &note.frontmatter_range else {
        return Vec::new();
    };
    let yaml = src.get(yaml_range(src, range)).unwrap_or("");
    yaml.split_inclusive('\n')
        .filter(|line| !line.starts_with([' ', '\t', '-', '#']))
        .filter(|line| {
            let probe = format!("---\n{}\n---\n", line.trim_end_matches(['\r', '\n']));
            let parsed = parse(&probe);
            let Some(map) = parsed.frontmatter else {
                return false;
            };
            map.len() == 1 && map.keys().all(|k| k != key)
        })
        .map(|line| line.trim_end_matches(['\r', '\n']).to_owned())
        .collect()
}

fn lines_of_yaml(src: &str, note: &ParsedNote) -> Vec<String> {
    let Some(range) = &note.frontmatter_range else {
        return Vec::new();
    };
    let yaml = src.get(yaml_range(src, range)).unwrap_or("");
    yaml.split_inclusive('\n')
        .map(|line| line.trim_end_matches(['\r', '\n']).to_owned())
        .collect()
}

/// Checks that a successful `op` on `src` (parsed as `note`) giving `out` kept every byte
/// outside the operation's target. Panics (a fuzzer finding) when it did not.
pub fn check_edit(src: &str, note: &ParsedNote, op: &EditOp, out: &str) {
    let fail = |what: &str| -> ! {
        panic!("{what}\nop: {op:?}\nsrc: {src:?}\nout: {out:?}");
    };
    let body = body_start(src, note);
    let sections = || 0..note.headings.len();
    let ok = match op {
        EditOp::Append { .. } => spliced(src, out, src.len(), src.len()),
        EditOp::Prepend { .. } => spliced(src, out, body, body),
        EditOp::InsertBeforeHeading { .. } => note.headings.iter().any(|h| {
            let at = line_start(src, h.range.start).max(body);
            spliced(src, out, at, at)
        }),
        EditOp::InsertAfterHeading { .. } | EditOp::AppendToSection { .. } => sections().any(|i| {
            let h = &note.headings[i];
            inserted_within(src, out, h.range.end, section_end(src, note, i))
        }),
        EditOp::ReplaceSection { .. } => sections().any(|i| {
            let h = &note.headings[i];
            let lo = next_line_start(src, h.range.end);
            spliced(src, out, lo, section_end(src, note, i).max(lo))
        }),
        EditOp::ReplaceBlock { .. } => note.blocks.iter().any(|b| {
            let hi = b.range.end.max(line_end(src, b.line));
            spliced(src, out, b.range.start.min(hi), hi)
        }),
        EditOp::AppendToBlock { .. } => note.blocks.iter().any(|b| {
            let hi = next_line_start(src, b.range.end.max(line_end(src, b.line)));
            inserted_within(src, out, b.range.start.min(hi), hi)
        }),
        EditOp::SetFrontmatter { key, value } => {
            check_frontmatter(src, note, key, Some(value), out);
            true
        }
        EditOp::DeleteFrontmatter { key } => {
            check_frontmatter(src, note, key, None, out);
            true
        }
        EditOp::FindReplace {
            find,
            replace,
            expected,
        } => {
            let plain = ![src, find, replace].iter().any(|s| s.contains('\r'));
            (!plain || out == src.replace(find.as_str(), replace))
                && expected.is_none_or(|e| !plain || src.matches(find.as_str()).count() == e)
        }
    };
    if !ok {
        fail("the edit changed bytes outside its target");
    }
}

/// Checks a successful frontmatter set (`value`) or delete (`None`) of `key`: only the YAML
/// between the fences changed (or a new block was added before the body), the properties are
/// the old ones with exactly that change, and every other key's line is still there.
pub fn check_frontmatter(
    src: &str,
    note: &ParsedNote,
    key: &str,
    value: Option<&Value>,
    out: &str,
) {
    let fail = |what: &str| -> ! {
        panic!("{what}\nkey: {key:?} value: {value:?}\nsrc: {src:?}\nout: {out:?}");
    };
    let bom = if src.starts_with('\u{feff}') { 3 } else { 0 };
    match &note.frontmatter_range {
        Some(range) => {
            let yaml = yaml_range(src, range);
            if !spliced(src, out, yaml.start, yaml.end) {
                fail("bytes outside the frontmatter's YAML changed");
            }
        }
        None => {
            if !spliced(src, out, bom, bom) {
                fail("a new frontmatter block was not a pure insertion at the top");
            }
        }
    }
    let parsed = parse(out);
    let mut expected = note.frontmatter.clone().unwrap_or_default();
    match value {
        Some(v) => {
            expected.insert(key.to_owned(), v.clone());
        }
        None => {
            expected.remove(key);
        }
    }
    if parsed.frontmatter.as_ref() != Some(&expected) {
        fail("the properties are not the old ones with exactly one change");
    }
    let after = lines_of_yaml(out, &parsed);
    for line in other_key_lines(src, note, key) {
        let before_count = lines_of_yaml(src, note)
            .iter()
            .filter(|l| **l == line)
            .count();
        if after.iter().filter(|l| **l == line).count() < before_count {
            fail(&format!("the line of another key changed: {line:?}"));
        }
    }
    // The body is the same bytes, still after the (possibly new) frontmatter.
    let body_len = src.len() - body_start(src, note);
    if out.len() - body_start(out, &parsed) != body_len {
        fail("the frontmatter's fences no longer frame the same body");
    }
}
