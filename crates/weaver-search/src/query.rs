//! The tolerant query language and its translation into tantivy queries.
//!
//! Syntax: plain words, `"quoted phrases"`, `prefix*`, `+required` and `-excluded` (any of the
//! others with a leading `+` or `-`). Plain words and prefixes are optional: a note matching
//! any of them is a hit (stop words aside), and notes with all of them, or with consecutive
//! words near each other, rank higher ([`text_query`]). Quoted phrases and `+` clauses must
//! match, each in some text field; BM25 ranks the matches. Nothing is a syntax error: an unbalanced quote runs to the end of the text, and
//! punctuation that yields no token is ignored. A word that the analyzer splits into several
//! tokens (`foo-bar`, `東京`) is a phrase of those tokens.
//!
//! What a query may cost is bounded before any index work starts: its length and its filters
//! by [`check_size`], its clauses, words and prefixes by [`check_clauses`] once parsed. Each
//! limit refuses the query with an error naming it rather than silently dropping clauses, since
//! a trimmed query would answer a different question. Prefix expansion is the one
//! exception: a prefix is a request for "some words like this", so it expands to the
//! [`MAX_PREFIX_EXPANSIONS`] most frequent of the first [`MAX_PREFIX_SCAN`] matching terms.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, EnableScoring, Explanation,
    Occur, PhraseQuery, Query, RangeQuery, Scorer, TermQuery, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, Term};

use crate::budget::Budget;
use crate::schema::{Fields, fm_term, normalize_folder, normalize_tag, text_fields};
use crate::stopwords;
use crate::tokenizer::{is_cjk, tokens};
use crate::{SearchError, SearchQuery};

/// Longest query text accepted, in bytes of UTF-8. A person or an agent asking a question
/// needs a few dozen words at most; 1 KiB leaves room for long phrases and CJK text (three
/// bytes a character) while keeping the parser's work trivial.
pub const MAX_QUERY_BYTES: usize = 1024;

/// Most clauses (words, phrases, prefixes and exclusions) in one query text. Every clause is a
/// union over six text fields, and all positive clauses must match at once.
pub const MAX_QUERY_CLAUSES: usize = 32;

/// Most words in one query text, counting every word of every phrase (and every CJK
/// character, which is a word of its own).
pub const MAX_QUERY_TOKENS: usize = 64;

/// Most prefix clauses (`plan*`) in one query text; each expands to up to
/// [`MAX_PREFIX_EXPANSIONS`] terms in each of the six text fields.
pub const MAX_PREFIX_CLAUSES: usize = 8;

/// A prefix expands to at most this many terms per field (the most frequent ones); more
/// matching terms are not an error, the rarer ones are left out.
pub const MAX_PREFIX_EXPANSIONS: usize = 50;

/// Most tag and frontmatter-field filters in one search, together.
pub const MAX_FILTERS: usize = 32;

/// Longest tag, folder, frontmatter key or value accepted as a filter, in bytes.
pub const MAX_FILTER_BYTES: usize = 1024;

/// At most this many dictionary terms are scanned per field and segment for one prefix, so a
/// one-letter prefix over a large vocabulary stays cheap.
const MAX_PREFIX_SCAN: usize = 4096;

/// The prefix scan looks at the clock once per this many dictionary terms.
const TERMS_PER_CHECK: usize = 256;

/// Refuses query text and filters over their length and count limits, before anything is
/// parsed.
pub(crate) fn check_size(query: &SearchQuery) -> Result<(), SearchError> {
    let too_long = |what: &'static str, text: &str, max: usize| {
        if text.len() > max {
            return Err(SearchError::QueryTooLong {
                what,
                bytes: text.len(),
                max,
            });
        }
        Ok(())
    };
    too_long("query text", &query.text, MAX_QUERY_BYTES)?;
    let filters = query.tags.len() + query.fields.len();
    if filters > MAX_FILTERS {
        return Err(SearchError::QueryTooComplex {
            what: "tag and field filters",
            count: filters,
            max: MAX_FILTERS,
        });
    }
    for tag in &query.tags {
        too_long("tag filter", tag, MAX_FILTER_BYTES)?;
    }
    if let Some(folder) = &query.folder {
        too_long("folder filter", folder, MAX_FILTER_BYTES)?;
    }
    for (key, value) in &query.fields {
        too_long("field filter key", key, MAX_FILTER_BYTES)?;
        too_long("field filter value", value, MAX_FILTER_BYTES)?;
    }
    Ok(())
}

/// Refuses parsed query text with more clauses, words or prefixes than the limits allow.
pub(crate) fn check_clauses(clauses: &[Clause]) -> Result<(), SearchError> {
    let counts = [
        (
            "clauses (words, phrases, prefixes, exclusions)",
            clauses.len(),
            MAX_QUERY_CLAUSES,
        ),
        (
            "words (counting those in phrases)",
            clauses.iter().map(|clause| clause.tokens.len()).sum(),
            MAX_QUERY_TOKENS,
        ),
        (
            "prefix terms",
            clauses.iter().filter(|clause| clause.prefix).count(),
            MAX_PREFIX_CLAUSES,
        ),
    ];
    for (what, count, max) in counts {
        if count > max {
            return Err(SearchError::QueryTooComplex { what, count, max });
        }
    }
    Ok(())
}

/// What a clause asks of a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A plain word or prefix: ranks, and some optional clause must match when no clause is
    /// required.
    Optional,
    /// `+clause` or a `"quoted phrase"`: every matching note has it.
    Required,
    /// `-clause`: notes matching it are left out.
    Excluded,
}

/// One parsed clause of the query text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clause {
    /// What the clause asks of a note.
    pub kind: Kind,
    /// Analyzed tokens, never empty. One token is a term, several a phrase.
    pub tokens: Vec<String>,
    /// The last token is a prefix (`term*`).
    pub prefix: bool,
    /// Written in quotes: an exact phrase, never relaxed.
    pub quoted: bool,
    /// The clause's words as written (without its `+`, `-`, quotes and `*`).
    pub raw: String,
}

/// Parses the query text. Never fails; clauses without tokens are dropped.
pub(crate) fn parse(text: &str, analyzer: &mut TextAnalyzer) -> Vec<Clause> {
    let mut clauses = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let mut kind = Kind::Optional;
        if let Some(after) = rest.strip_prefix('-') {
            rest = after;
            kind = Kind::Excluded;
        } else if let Some(after) = rest.strip_prefix('+') {
            rest = after;
            kind = Kind::Required;
        }
        let (tokens, prefix, quoted, raw) = if let Some(after) = rest.strip_prefix('"') {
            // An unbalanced quote takes the rest of the text as the phrase.
            let (phrase, remaining) = after.split_once('"').unwrap_or((after, ""));
            rest = remaining;
            (tokens(analyzer, phrase), false, true, phrase)
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            let (word, remaining) = rest.split_at(end);
            rest = remaining;
            let stem = word.trim_end_matches('*');
            (tokens(analyzer, stem), stem.len() < word.len(), false, stem)
        };
        if quoted && kind == Kind::Optional {
            kind = Kind::Required;
        }
        if !tokens.is_empty() {
            clauses.push(Clause {
                kind,
                tokens,
                prefix,
                quoted,
                raw: raw.trim().to_owned(),
            });
        }
    }
    clauses
}

/// What a query's text asks, for callers that rank notes by other means than the index (an
/// embedding model): see [`query_text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryText {
    /// The words and phrases to rank by, as written and in order, without the syntax (`+`,
    /// quotes, `*`) and without the excluded clauses: what a model should read.
    pub meaning: String,
    /// Whether the text ranks notes at all: it has a word or phrase that is not excluded.
    /// Empty text, punctuation and exclusions alone do not rank.
    pub ranked: bool,
    /// Whether some clause must hold of every hit whatever ranks it: a `+required` clause, a
    /// quoted phrase or a `-excluded` clause ([`crate::SearchIndex::matching_paths`] checks
    /// them).
    pub constrained: bool,
}

/// Checks `query` against the limits [`crate::SearchIndex::search`] enforces (text length,
/// filters, clauses, words, prefixes) without running it: for a caller that ranks by other
/// means first and must refuse the same queries.
pub fn check_query(query: &SearchQuery) -> Result<(), SearchError> {
    check_size(query)?;
    check_clauses(&parse(&query.text, &mut crate::tokenizer::analyzer()))
}

/// Reads query text the way [`crate::SearchIndex::search`] does (never fails), for another
/// ranking: see [`QueryText`].
pub fn query_text(text: &str) -> QueryText {
    let clauses = parse(text, &mut crate::tokenizer::analyzer());
    let meaning = clauses
        .iter()
        .filter(|clause| clause.kind != Kind::Excluded)
        .map(|clause| clause.raw.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    QueryText {
        ranked: clauses.iter().any(|clause| clause.kind != Kind::Excluded),
        constrained: clauses.iter().any(|clause| clause.kind != Kind::Optional),
        meaning,
    }
}

/// How much a note that matches every optional clause gains: its optional clauses' scores
/// count this much once more.
const ALL_TERMS_BOOST: f32 = 1.0;

/// How much two consecutive words of the query found near each other add, relative to the
/// words' own scores.
const PROXIMITY_BOOST: f32 = 1.0;

/// How far apart (in moved positions) two consecutive query words may be and still count as
/// near: `money back` is near in `get your money back` and `money you get back`.
const PROXIMITY_SLOP: u32 = 2;

/// Most pairs of consecutive words given a proximity clause; a long question's later pairs
/// add little and cost a phrase query each in every field.
const MAX_PROXIMITY_PAIRS: usize = 8;

/// The text part of a query, ready to combine with filters.
pub(crate) struct TextQuery {
    /// Clauses that must match.
    pub required: Vec<Box<dyn Query>>,
    /// Clauses that rank; at least one of them must match when nothing is required.
    pub optional: Vec<Box<dyn Query>>,
    /// Clauses that only add to the score of notes that match otherwise (all words present,
    /// words near each other).
    pub boosts: Vec<Box<dyn Query>>,
    /// Clauses that must not match.
    pub excluded: Vec<Box<dyn Query>>,
    /// Tokens to highlight in snippets (prefixes appear expanded).
    pub highlight: BTreeSet<String>,
}

impl TextQuery {
    /// Whether the text ranks notes at all (not only exclusions or nothing).
    pub fn ranked(&self) -> bool {
        !self.required.is_empty() || !self.optional.is_empty()
    }
}

/// Turns parsed clauses into tantivy queries over the text fields. Prefixes are expanded
/// against `searcher`'s term dictionaries, within `budget`.
///
/// Plain words are relaxed: a note matching any of them is a hit, ranked by BM25 with notes
/// that have all of them, and pairs of consecutive words near each other, ranked higher.
/// Stop words ([`crate::stopwords`]) do not count as a match on their own unless the query
/// has nothing else.
pub(crate) fn text_query(
    clauses: &[Clause],
    searcher: &Searcher,
    fields: &Fields,
    budget: &Budget,
) -> Result<TextQuery, SearchError> {
    let mut out = TextQuery {
        required: Vec::new(),
        optional: Vec::new(),
        boosts: Vec::new(),
        excluded: Vec::new(),
        highlight: BTreeSet::new(),
    };
    let plain = |clause: &Clause| {
        clause.kind == Kind::Optional && !clause.prefix && clause.tokens.len() == 1
    };
    let words: Vec<&str> = clauses
        .iter()
        .filter(|clause| plain(clause))
        .filter_map(|clause| clause.tokens.first().map(String::as_str))
        .collect();
    let mut stop_flags = stopwords::flags(&words).into_iter();
    let mut stop: Vec<bool> = clauses
        .iter()
        .map(|clause| plain(clause) && stop_flags.next().unwrap_or(false))
        .collect();
    let content = clauses
        .iter()
        .zip(&stop)
        .any(|(clause, &stop)| clause.kind != Kind::Excluded && !stop);
    if !content {
        // Only stop words (`to be or not to be`): they are the question.
        stop.fill(false);
    }
    let mut content_words: Vec<Option<&str>> = Vec::new();
    for (clause, &stop) in clauses.iter().zip(&stop) {
        if stop {
            // Left out of the match and of the highlights; it still separates the words
            // around it for proximity.
            continue;
        }
        let highlight = (clause.kind != Kind::Excluded).then_some(&mut out.highlight);
        let query = clause_query(clause, searcher, fields, budget, highlight)?;
        match clause.kind {
            Kind::Optional => {
                content_words.push(
                    plain(clause)
                        .then(|| clause.tokens.first().map(String::as_str))
                        .flatten(),
                );
                out.optional.push(query);
            }
            Kind::Required => out.required.push(query),
            Kind::Excluded => out.excluded.push(query),
        }
    }
    if out.optional.len() > 1 {
        let all: Vec<(Occur, Box<dyn Query>)> = out
            .optional
            .iter()
            .map(|query| (Occur::Must, query.box_clone()))
            .collect();
        out.boosts.push(Box::new(BoostQuery::new(
            Box::new(BooleanQuery::new(all)),
            ALL_TERMS_BOOST,
        )));
    }
    let pairs = content_words
        .windows(2)
        .filter_map(|pair| match pair {
            [Some(a), Some(b)] if a != b => Some([*a, *b]),
            _ => None,
        })
        .take(MAX_PROXIMITY_PAIRS);
    for pair in pairs {
        let per_field: Vec<(Occur, Box<dyn Query>)> = text_fields(fields)
            .into_iter()
            .map(|(field, boost)| {
                let terms = pair.map(|token| Term::from_field_text(field, token));
                let mut phrase = PhraseQuery::new(terms.to_vec());
                phrase.set_slop(PROXIMITY_SLOP);
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(phrase), boost)) as Box<dyn Query>,
                )
            })
            .collect();
        out.boosts.push(Box::new(BoostQuery::new(
            Box::new(BooleanQuery::new(per_field)),
            PROXIMITY_BOOST,
        )));
    }
    Ok(out)
}

/// One clause as a union over the text fields, each boosted.
fn clause_query(
    clause: &Clause,
    searcher: &Searcher,
    fields: &Fields,
    budget: &Budget,
    mut highlight: Option<&mut BTreeSet<String>>,
) -> Result<Box<dyn Query>, SearchError> {
    let mut per_field: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    let (head, last) = match clause.tokens.split_last() {
        Some((last, head)) if clause.prefix => (head, Some(last)),
        _ => (clause.tokens.as_slice(), None),
    };
    if let Some(highlight) = highlight.as_deref_mut() {
        highlight.extend(head.iter().cloned());
    }
    // A run of CJK characters typed without quotes is a sentence more often than a word: it
    // matches by its character pairs (bigrams), the whole run ranking highest.
    let cjk_run = clause.kind == Kind::Optional
        && !clause.quoted
        && last.is_none()
        && head.len() > 2
        && head.iter().all(|token| {
            let mut chars = token.chars();
            matches!((chars.next(), chars.next()), (Some(c), None) if is_cjk(c))
        });
    for (field, boost) in text_fields(fields) {
        let query: Option<Box<dyn Query>> = match last {
            None if cjk_run => {
                let mut alternatives: Vec<(Occur, Box<dyn Query>)> = head
                    .windows(2)
                    .map(|pair| (Occur::Should, phrase_or_term(field, pair)))
                    .collect();
                alternatives.push((Occur::Should, phrase_or_term(field, head)));
                Some(Box::new(BooleanQuery::new(alternatives)))
            }
            None => Some(phrase_or_term(field, head)),
            Some(prefix) => {
                let expansions = expand_prefix(searcher, field, prefix, budget)?;
                if let Some(highlight) = highlight.as_deref_mut() {
                    highlight.extend(expansions.iter().cloned());
                }
                let alternatives: Vec<(Occur, Box<dyn Query>)> = expansions
                    .iter()
                    .map(|expansion| {
                        let mut tokens = head.to_vec();
                        tokens.push(expansion.clone());
                        (Occur::Should, phrase_or_term(field, &tokens))
                    })
                    .collect();
                (!alternatives.is_empty())
                    .then(|| Box::new(BooleanQuery::new(alternatives)) as Box<dyn Query>)
            }
        };
        if let Some(query) = query {
            per_field.push((Occur::Should, Box::new(BoostQuery::new(query, boost))));
        }
    }
    if per_field.is_empty() {
        // A prefix that expands to nothing matches nothing.
        return Ok(Box::new(EmptyQuery));
    }
    Ok(Box::new(BooleanQuery::new(per_field)))
}

/// A term query for one token, a phrase query for several.
fn phrase_or_term(field: Field, tokens: &[String]) -> Box<dyn Query> {
    let terms: Vec<Term> = tokens
        .iter()
        .map(|token| Term::from_field_text(field, token))
        .collect();
    match terms.as_slice() {
        [term] => Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
        [] => Box::new(EmptyQuery),
        _ => Box::new(PhraseQuery::new(terms)),
    }
}

/// The terms of `field` that start with `prefix`, most frequent first, at most
/// [`MAX_PREFIX_EXPANSIONS`]; fails when `budget` runs out during the scan.
fn expand_prefix(
    searcher: &Searcher,
    field: Field,
    prefix: &str,
    budget: &Budget,
) -> Result<Vec<String>, SearchError> {
    let mut found: HashMap<Vec<u8>, u64> = HashMap::new();
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut stream = inverted
            .terms()
            .range()
            .ge(prefix.as_bytes())
            .into_stream()?;
        let mut scanned = 0;
        while scanned < MAX_PREFIX_SCAN && stream.advance() {
            if scanned % TERMS_PER_CHECK == 0 {
                budget.check()?;
            }
            let key = stream.key();
            if !key.starts_with(prefix.as_bytes()) {
                break;
            }
            *found.entry(key.to_vec()).or_default() += u64::from(stream.value().doc_freq);
            scanned += 1;
        }
    }
    let mut ranked: Vec<(Vec<u8>, u64)> = found.into_iter().collect();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(ranked
        .into_iter()
        .filter_map(|(key, _)| String::from_utf8(key).ok())
        .take(MAX_PREFIX_EXPANSIONS)
        .collect())
}

/// The filters of `query`, each scoring zero so that they restrict without changing ranks.
pub(crate) fn filters(
    query: &SearchQuery,
    fields: &Fields,
) -> Result<Vec<Box<dyn Query>>, SearchError> {
    let mut out: Vec<Box<dyn Query>> = Vec::new();
    let mut push_term = |field: Field, text: &str| {
        let term = Term::from_field_text(field, text);
        let query = TermQuery::new(term, IndexRecordOption::Basic);
        out.push(Box::new(ConstScoreQuery::new(Box::new(query), 0.0)));
    };
    for tag in &query.tags {
        let tag = normalize_tag(tag);
        if !tag.is_empty() {
            push_term(fields.tag, &tag);
        }
    }
    if let Some(folder) = &query.folder {
        let folder = normalize_folder(folder);
        if !folder.is_empty() {
            push_term(fields.folder, &folder);
        }
    }
    for (key, value) in &query.fields {
        if key.trim().is_empty() {
            return Err(SearchError::InvalidQuery(format!(
                "frontmatter filter `={value}` has an empty key"
            )));
        }
        push_term(fields.fm, &fm_term(key, value));
    }
    if query.modified_after.is_some() || query.modified_before.is_some() {
        let bound = |value: Option<i64>, inclusive: bool| match value {
            Some(ms) if inclusive => Bound::Included(Term::from_field_i64(fields.modified, ms)),
            Some(ms) => Bound::Excluded(Term::from_field_i64(fields.modified, ms)),
            None => Bound::Unbounded,
        };
        let range = RangeQuery::new(
            bound(query.modified_after, true),
            bound(query.modified_before, false),
        );
        out.push(Box::new(ConstScoreQuery::new(Box::new(range), 0.0)));
    }
    Ok(out)
}

/// Combines text clauses and filters into the final query. With no required or optional
/// clause at all the query matches every note (minus exclusions).
pub(crate) fn combine(text: TextQuery, filters: Vec<Box<dyn Query>>) -> BooleanQuery {
    let TextQuery {
        required,
        optional,
        boosts,
        excluded,
        ..
    } = text;
    let anything_required = !required.is_empty();
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = required
        .into_iter()
        .chain(filters)
        .map(|query| (Occur::Must, query))
        .collect();
    if !anything_required && !optional.is_empty() {
        // Nothing else the text asks for: some optional clause must match.
        let any: Vec<(Occur, Box<dyn Query>)> = optional
            .into_iter()
            .map(|query| (Occur::Should, query))
            .collect();
        clauses.push((Occur::Must, Box::new(BooleanQuery::new(any))));
    } else {
        clauses.extend(optional.into_iter().map(|query| (Occur::Should, query)));
    }
    if clauses.iter().all(|(occur, _)| *occur != Occur::Must) {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    clauses.extend(boosts.into_iter().map(|query| (Occur::Should, query)));
    clauses.extend(excluded.into_iter().map(|query| {
        (
            Occur::MustNot,
            Box::new(Excluded(query.into())) as Box<dyn Query>,
        )
    }));
    BooleanQuery::new(clauses)
}

/// Wraps a `MustNot` clause so that tantivy probes it only through plain `seek`.
///
/// tantivy 0.27's exclusion asks the excluded scorer about each candidate with `seek_danger`,
/// even candidates below the scorer's current document, and `PhraseScorer::seek_danger`
/// debug-asserts against exactly that: `alpha -"alpha gamma"` panicked in debug builds. The
/// wrapper's scorer keeps the default `seek_danger`, which answers such probes correctly.
#[derive(Debug, Clone)]
struct Excluded(Arc<dyn Query>);

impl Query for Excluded {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(ExcludedWeight(self.0.weight(enable_scoring)?)))
    }
}

struct ExcludedWeight(Box<dyn Weight>);

impl Weight for ExcludedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(ExcludedScorer(self.0.scorer(reader, boost)?)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

struct ExcludedScorer(Box<dyn Scorer>);

impl DocSet for ExcludedScorer {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let doc = self.0.doc();
        if doc >= target {
            return doc;
        }
        self.0.seek(target)
    }

    fn doc(&self) -> DocId {
        self.0.doc()
    }

    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }
}

impl Scorer for ExcludedScorer {
    fn score(&mut self) -> Score {
        self.0.score()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::analyzer;

    fn check(input: &str, expected: &[(bool, &[&str], bool)]) {
        let clauses = parse(input, &mut analyzer());
        let actual: Vec<(bool, Vec<&str>, bool)> = clauses
            .iter()
            .map(|c| {
                (
                    c.kind == Kind::Excluded,
                    c.tokens.iter().map(String::as_str).collect(),
                    c.prefix,
                )
            })
            .collect();
        let expected: Vec<(bool, Vec<&str>, bool)> = expected
            .iter()
            .map(|(n, t, p)| (*n, t.to_vec(), *p))
            .collect();
        assert_eq!(actual, expected, "input: {input:?}");
    }

    #[test]
    fn plain_terms_phrases_prefixes_and_exclusions() {
        check(
            "Hello World",
            &[(false, &["hello"], false), (false, &["world"], false)],
        );
        check(
            "\"Exact Words\" rest",
            &[
                (false, &["exact", "words"], false),
                (false, &["rest"], false),
            ],
        );
        check(
            "plan* -draft",
            &[(false, &["plan"], true), (true, &["draft"], false)],
        );
        check("-\"not this\"", &[(true, &["not", "this"], false)]);
        check("foo-bar", &[(false, &["foo", "bar"], false)]);
        check("東京", &[(false, &["東", "京"], false)]);
        check("Café", &[(false, &["cafe"], false)]);
        check(
            "a\"b c\"d",
            &[
                (false, &["a"], false),
                (false, &["b", "c"], false),
                (false, &["d"], false),
            ],
        );
    }

    #[test]
    fn plus_and_quotes_require_minus_excludes() {
        let clauses = parse(
            "+must \"a phrase\" maybe -not -\"nor this\" +",
            &mut analyzer(),
        );
        let kinds: Vec<(Kind, bool)> = clauses.iter().map(|c| (c.kind, c.quoted)).collect();
        assert_eq!(
            kinds,
            [
                (Kind::Required, false),
                (Kind::Required, true),
                (Kind::Optional, false),
                (Kind::Excluded, false),
                (Kind::Excluded, true),
            ]
        );
    }

    #[test]
    fn query_text_keeps_the_words_and_says_what_is_required() {
        let text = query_text("how do I +sync \"my phone\" -android plan*");
        assert_eq!(text.meaning, "how do I sync my phone plan");
        assert!(text.ranked && text.constrained);
        let text = query_text("get my money back");
        assert_eq!(text.meaning, "get my money back");
        assert!(text.ranked && !text.constrained);
        for nothing in ["", "  ", "*** ?!", "-draft"] {
            let text = query_text(nothing);
            assert!(!text.ranked, "{nothing:?}");
            assert_eq!(text.constrained, nothing == "-draft", "{nothing:?}");
        }
    }

    #[test]
    fn odd_input_is_tolerated() {
        check("", &[]);
        check("   ", &[]);
        check("***", &[]);
        check("-", &[]);
        check("- -- ---", &[]);
        check("((", &[]);
        check("\"", &[]);
        check(
            "\"unbalanced words",
            &[(false, &["unbalanced", "words"], false)],
        );
        check("*foo", &[(false, &["foo"], false)]);
        check("--foo", &[(true, &["foo"], false)]);
        check("foo**", &[(false, &["foo"], true)]);
        check(
            "(a OR b)",
            &[
                (false, &["a"], false),
                (false, &["or"], false),
                (false, &["b"], false),
            ],
        );
    }
}
