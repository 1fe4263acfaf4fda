//! The index schema and the conversion of a [`SearchDoc`] into a tantivy document.

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use crate::SearchDoc;
use crate::tokenizer::TOKENIZER_NAME;

/// Version of everything that decides what the index holds: fields, analyzer, term formats.
/// Bump it whenever one of them changes; an index written with another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 1;

/// Longest raw filter term (tag, folder, `key=value`) kept, in bytes. Tantivy refuses terms
/// near 64 KiB, and nobody filters on kilobytes of frontmatter.
const MAX_RAW_TERM_BYTES: usize = 1024;

/// Handles to every field of the schema.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// The vault-relative path as one raw term: the key for deletes, stored for results.
    pub path: Field,
    /// The path without `.md`, tokenized, so `plan` finds `Projects/Plan.md`.
    pub path_text: Field,
    /// Stored for results.
    pub title: Field,
    pub aliases: Field,
    pub headings: Field,
    /// Stored for snippets.
    pub body: Field,
    /// Tags tokenized for text search (`area/sub` gives `area` and `sub`).
    pub tags_text: Field,
    /// Lower-cased tag prefixes by whole segments (`area`, `area/sub`) for the tag filter.
    pub tag: Field,
    /// Every ancestor folder, lower-cased (`projects`, `projects/x`) for the folder filter.
    pub folder: Field,
    /// Lower-cased `key=value` terms for frontmatter filters.
    pub fm: Field,
    /// Unix milliseconds; fast for sorting and range filters.
    pub modified: Field,
}

/// Text fields searched by a query, with their BM25 boosts.
pub(crate) fn text_fields(fields: &Fields) -> [(Field, f32); 6] {
    [
        (fields.title, 3.0),
        (fields.aliases, 2.0),
        (fields.headings, 1.5),
        (fields.body, 1.0),
        (fields.tags_text, 1.0),
        (fields.path_text, 1.0),
    ]
}

/// Builds the schema and the field handles.
pub(crate) fn build_schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text_indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER_NAME)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text = TextOptions::default().set_indexing_options(text_indexing);
    let stored_text = text.clone().set_stored();
    let raw_filter = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_fieldnorms(false)
            .set_index_option(IndexRecordOption::Basic),
    );
    let fields = Fields {
        path: builder.add_text_field("path", STRING | STORED),
        path_text: builder.add_text_field("path_text", text.clone()),
        title: builder.add_text_field("title", stored_text.clone()),
        aliases: builder.add_text_field("aliases", text.clone()),
        headings: builder.add_text_field("headings", text.clone()),
        body: builder.add_text_field("body", stored_text),
        tags_text: builder.add_text_field("tags_text", text),
        tag: builder.add_text_field("tag", raw_filter.clone()),
        folder: builder.add_text_field("folder", raw_filter.clone()),
        fm: builder.add_text_field("fm", raw_filter),
        modified: builder.add_i64_field("modified", INDEXED | FAST),
    };
    (builder.build(), fields)
}

/// Converts a note into the document the index stores.
pub(crate) fn to_document(fields: &Fields, doc: &SearchDoc<'_>) -> TantivyDocument {
    let mut out = TantivyDocument::new();
    out.add_text(fields.path, doc.path);
    out.add_text(fields.path_text, strip_md(doc.path));
    out.add_text(fields.title, doc.title);
    for alias in doc.aliases {
        out.add_text(fields.aliases, alias);
    }
    for heading in &doc.headings {
        out.add_text(fields.headings, heading);
    }
    out.add_text(fields.body, doc.body);
    let mut prefixes = Vec::new();
    for tag in &doc.tags {
        let tag = normalize_tag(tag);
        if tag.is_empty() {
            continue;
        }
        out.add_text(fields.tags_text, &tag);
        tag_prefixes(&tag, &mut prefixes);
    }
    prefixes.sort_unstable();
    prefixes.dedup();
    for prefix in prefixes {
        add_raw(&mut out, fields.tag, &prefix);
    }
    for folder in ancestor_folders(doc.path) {
        add_raw(&mut out, fields.folder, &folder);
    }
    if let Some(frontmatter) = doc.frontmatter {
        let mut terms = Vec::new();
        for (key, value) in frontmatter {
            frontmatter_terms(key, value, &mut terms);
        }
        terms.sort_unstable();
        terms.dedup();
        for term in terms {
            add_raw(&mut out, fields.fm, &term);
        }
    }
    out.add_i64(fields.modified, doc.modified);
    out
}

fn add_raw(doc: &mut TantivyDocument, field: Field, term: &str) {
    if !term.is_empty() && term.len() <= MAX_RAW_TERM_BYTES {
        doc.add_text(field, term);
    }
}

/// The path without a trailing `.md`, so every note does not match the query `md`.
fn strip_md(path: &str) -> &str {
    let len = path.len();
    match path.get(len.saturating_sub(3)..) {
        Some(ext) if ext.eq_ignore_ascii_case(".md") => path.get(..len - 3).unwrap_or(path),
        _ => path,
    }
}

/// Lower-cases a tag and removes `#`, surrounding blanks and empty segments: `#Area//Sub/`
/// becomes `area/sub`. Used for indexed tags and for filter values alike.
pub(crate) fn normalize_tag(tag: &str) -> String {
    let tag = tag.trim().trim_start_matches('#');
    tag.split('/')
        .map(str::trim)
        .filter(|segment| !segment.is_empty())
        .collect::<Vec<_>>()
        .join("/")
        .to_lowercase()
}

/// `area/sub/x` gives `area`, `area/sub`, `area/sub/x`.
fn tag_prefixes(tag: &str, out: &mut Vec<String>) {
    for (index, c) in tag.char_indices() {
        if c == '/' {
            out.push(tag.get(..index).unwrap_or_default().to_owned());
        }
    }
    out.push(tag.to_owned());
}

/// Lower-cased ancestor folders of a note: `Projects/X/b.md` gives `projects` and `projects/x`.
fn ancestor_folders(path: &str) -> Vec<String> {
    let lower = path.to_lowercase();
    let mut out = Vec::new();
    for (index, c) in lower.char_indices() {
        if c == '/' {
            out.push(lower.get(..index).unwrap_or_default().to_owned());
        }
    }
    out
}

/// Normalises a folder filter the way folders are indexed: lower-cased, slashes trimmed,
/// backslashes read as slashes, empty segments dropped. Empty means the whole vault.
pub(crate) fn normalize_folder(folder: &str) -> String {
    folder
        .replace('\\', "/")
        .split('/')
        .map(str::trim)
        .filter(|segment| !segment.is_empty() && *segment != ".")
        .collect::<Vec<_>>()
        .join("/")
        .to_lowercase()
}

/// The `key=value` term for a frontmatter filter or an indexed scalar.
pub(crate) fn fm_term(key: &str, value: &str) -> String {
    format!(
        "{}={}",
        key.trim().to_lowercase(),
        value.trim().to_lowercase()
    )
}

/// Adds a term for every scalar under `key`: strings, numbers and booleans by their text, list
/// elements each on their own (nested lists flattened). Objects and nulls are not filterable.
fn frontmatter_terms(key: &str, value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) => out.push(fm_term(key, text)),
        serde_json::Value::Number(number) => out.push(fm_term(key, &number.to_string())),
        serde_json::Value::Bool(flag) => {
            out.push(fm_term(key, if *flag { "true" } else { "false" }))
        }
        serde_json::Value::Array(items) => {
            for item in items {
                frontmatter_terms(key, item, out);
            }
        }
        serde_json::Value::Null | serde_json::Value::Object(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalized_and_expanded_to_prefixes() {
        assert_eq!(normalize_tag("#Area//Sub/"), "area/sub");
        assert_eq!(normalize_tag(" # "), "");
        let mut prefixes = Vec::new();
        tag_prefixes("area/sub/x", &mut prefixes);
        assert_eq!(prefixes, ["area", "area/sub", "area/sub/x"]);
    }

    #[test]
    fn folders_are_every_ancestor() {
        assert_eq!(
            ancestor_folders("Projects/X/b.md"),
            ["projects", "projects/x"]
        );
        assert!(ancestor_folders("root.md").is_empty());
        assert_eq!(normalize_folder("/Projects\\X/ "), "projects/x");
        assert_eq!(normalize_folder("/"), "");
    }

    #[test]
    fn md_extension_is_stripped_for_text() {
        assert_eq!(strip_md("Projects/Plan.md"), "Projects/Plan");
        assert_eq!(strip_md("a.MD"), "a");
        assert_eq!(strip_md("md"), "md");
        assert_eq!(strip_md("x.txt"), "x.txt");
    }

    #[test]
    fn frontmatter_scalars_and_lists_become_terms() {
        let value = serde_json::json!({
            "Status": "Done ",
            "tags": ["A", ["b", 3]],
            "count": 2.5,
            "draft": false,
            "nothing": null,
            "nested": {"x": 1},
        });
        let mut terms = Vec::new();
        for (key, value) in value.as_object().unwrap() {
            frontmatter_terms(key, value, &mut terms);
        }
        terms.sort();
        assert_eq!(
            terms,
            [
                "count=2.5",
                "draft=false",
                "status=done",
                "tags=3",
                "tags=a",
                "tags=b"
            ]
        );
    }
}
