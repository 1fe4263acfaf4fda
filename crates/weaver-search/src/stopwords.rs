//! Stop words: words too common to rank by, which a relaxed query does not accept as its only
//! match (`how do I export my notes` is a question about `export` and `notes`).
//!
//! The lists are NLTK's (through the `stop-words` crate), folded by the index's own analyzer
//! so that they compare with query tokens (`für` is `fur`). English is always on. Another
//! language is on for one query when at least two distinct words of the query are stop words
//! in it: `wie kann ich notizen exportieren` turns German on, while a lone `die` or `men` in an
//! English question stays a word. A query made of stop words only keeps them all (see
//! [`crate::query`]).

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::tokenizer::{analyzer, tokens};

/// ISO 639-1 codes of the NLTK lists used, for languages in scripts the analyzer splits into
/// words (CJK text is split per character, where a stop list of words does not apply).
const LANGUAGES: &[&str] = &[
    "en", "ca", "da", "de", "el", "es", "fi", "fr", "hu", "id", "it", "nl", "no", "pt", "ro", "ru",
    "sl", "sv", "tr",
];

/// How many distinct words of a query must be stop words of a language other than English
/// for that language's list to apply to the query.
const LANGUAGE_EVIDENCE: usize = 2;

/// The folded lists, English first.
fn lists() -> &'static [HashSet<String>] {
    static LISTS: OnceLock<Vec<HashSet<String>>> = OnceLock::new();
    LISTS.get_or_init(|| {
        let mut analyzer = analyzer();
        LANGUAGES
            .iter()
            .map(|code| {
                stop_words::lookup(code)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|word| match tokens(&mut analyzer, word).as_slice() {
                        // `don't` is two tokens; each part is a stop word of its own already.
                        [token] => Some(token.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .collect()
    })
}

/// For each of a query's words (analyzed tokens), whether it is a stop word of the query's
/// languages.
pub(crate) fn flags(words: &[&str]) -> Vec<bool> {
    let lists = lists();
    let distinct: HashSet<&str> = words.iter().copied().collect();
    let active: Vec<&HashSet<String>> = lists
        .iter()
        .enumerate()
        .filter(|(index, list)| {
            *index == 0
                || distinct.iter().filter(|word| list.contains(**word)).count() >= LANGUAGE_EVIDENCE
        })
        .map(|(_, list)| list)
        .collect();
    words
        .iter()
        .map(|word| active.iter().any(|list| list.contains(*word)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::flags;

    #[test]
    fn english_always_other_languages_on_evidence() {
        assert_eq!(
            flags(&["how", "do", "i", "export", "my", "notes"]),
            [true, true, true, false, true, false]
        );
        // One German stop word in an English query is a word.
        assert_eq!(flags(&["die", "hard"]), [false, false]);
        // Several turn German on; folded forms match (`für` is `fur`).
        assert_eq!(
            flags(&["wie", "kann", "ich", "notizen", "fur", "export"]),
            [true, true, true, false, true, false]
        );
        assert_eq!(flags(&[]), Vec::<bool>::new());
    }

    #[test]
    fn every_list_is_loaded() {
        assert_eq!(super::lists().len(), super::LANGUAGES.len());
        assert!(super::lists().iter().all(|list| list.len() > 20));
    }
}
