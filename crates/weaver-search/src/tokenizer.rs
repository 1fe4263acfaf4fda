//! The one text analyzer used for indexing, querying and snippets.
//!
//! Words are runs of alphanumeric characters; everything else separates them. Han, Hiragana,
//! Katakana and Hangul characters carry no spaces between words, so each one becomes its own
//! token: a query of several such characters turns into a phrase of consecutive characters, which
//! finds the word inside a sentence without a dictionary. Tokens are then lower-cased and
//! folded to ASCII (`Café` and `cafe` are the same token), and tokens longer than
//! [`MAX_TOKEN_BYTES`] are dropped (base64 blobs, hashes).

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, TextAnalyzer, Token, TokenStream, Tokenizer,
};

/// Name under which the analyzer is registered on the index. It is part of the schema, so a
/// change to the analyzer's behaviour must change this name (and bump the schema version).
pub(crate) const TOKENIZER_NAME: &str = "weaver_text_v1";

/// Longest token kept, in bytes of the original text.
pub(crate) const MAX_TOKEN_BYTES: usize = 64;

/// Builds the analyzer: [`NoteTokenizer`], then long-token removal, lower-casing and ASCII
/// folding.
pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(NoteTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES + 1))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Runs the analyzer over `text` and returns the token texts in order.
pub(crate) fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

/// Splits text into words and single CJK characters (see the module docs).
#[derive(Clone, Default)]
pub(crate) struct NoteTokenizer {
    token: Token,
}

impl Tokenizer for NoteTokenizer {
    type TokenStream<'a> = NoteTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> NoteTokenStream<'a> {
        self.token.reset();
        NoteTokenStream {
            text,
            offset: 0,
            token: &mut self.token,
        }
    }
}

/// The stream produced by [`NoteTokenizer`].
pub(crate) struct NoteTokenStream<'a> {
    text: &'a str,
    /// Byte offset where the next scan starts.
    offset: usize,
    token: &'a mut Token,
}

impl TokenStream for NoteTokenStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            let base = self.offset;
            let rest = self.text.get(base..).unwrap_or_default();
            let mut chars = rest.char_indices();
            // Skip separators up to the first character that starts a token.
            let Some((start, first, class)) = chars
                .by_ref()
                .map(|(index, c)| (index, c, classify(c)))
                .find(|&(_, _, class)| class != Class::Separator)
            else {
                self.offset = self.text.len();
                return false;
            };
            let mut end = start + first.len_utf8();
            let mut has_mark = class == Class::Mark;
            if class != Class::Cjk {
                for (index, c) in chars {
                    match classify(c) {
                        Class::Word => {}
                        Class::Mark => has_mark = true,
                        Class::Separator | Class::Cjk => break,
                    }
                    end = index + c.len_utf8();
                }
            }
            self.offset = base + end;
            let source = rest.get(start..end).unwrap_or_default();
            self.token.text.clear();
            if has_mark {
                self.token
                    .text
                    .extend(source.chars().filter(|&c| !is_combining_mark(c)));
            } else {
                self.token.text.push_str(source);
            }
            // A run made only of combining marks has no text; it is not a token.
            if self.token.text.is_empty() {
                continue;
            }
            self.token.offset_from = base + start;
            self.token.offset_to = base + end;
            self.token.position = self.token.position.wrapping_add(1);
            return true;
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// How the tokenizer treats a character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Ends a token and is dropped.
    Separator,
    /// Part of a word.
    Word,
    /// A combining diacritical mark: part of the word but dropped from its text, so text that
    /// arrives decomposed (NFD, as macOS file names often are) folds like its composed form.
    Mark,
    /// A token on its own.
    Cjk,
}

fn classify(c: char) -> Class {
    if c.is_ascii() {
        if c.is_ascii_alphanumeric() {
            Class::Word
        } else {
            Class::Separator
        }
    } else if is_cjk(c) {
        Class::Cjk
    } else if is_combining_mark(c) {
        Class::Mark
    } else if c.is_alphanumeric() {
        Class::Word
    } else {
        Class::Separator
    }
}

/// The Combining Diacritical Marks block, the marks that decomposed Latin text uses.
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

/// Han, Hiragana, Katakana and Hangul: scripts written without spaces between words (Korean
/// uses spaces, but per-syllable tokens also let a query match inside compounds).
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c,
        // Han: unified ideographs, extension A, compatibility ideographs, extensions B and on,
        // plus the iteration mark and the ideographic zero.
        '\u{4E00}'..='\u{9FFF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{323AF}'
        | '\u{3005}'
        | '\u{3007}'
        // Hiragana, Katakana, Katakana phonetic extensions, half-width Katakana.
        | '\u{3040}'..='\u{309F}'
        | '\u{30A0}'..='\u{30FF}'
        | '\u{31F0}'..='\u{31FF}'
        | '\u{FF66}'..='\u{FF9F}'
        // Hangul syllables and jamo.
        | '\u{AC00}'..='\u{D7AF}'
        | '\u{1100}'..='\u{11FF}'
        | '\u{3130}'..='\u{318F}'
        | '\u{A960}'..='\u{A97F}'
        | '\u{D7B0}'..='\u{D7FF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &[&str]) {
        let mut analyzer = analyzer();
        assert_eq!(tokens(&mut analyzer, input), expected, "input: {input:?}");
    }

    #[test]
    fn splits_lowercases_and_folds() {
        check("Hello, World!", &["hello", "world"]);
        check("Café crème", &["cafe", "creme"]);
        check("cafe\u{0301} re\u{0301}sume\u{0301}", &["cafe", "resume"]);
        check("Straße ÆON", &["strasse", "aeon"]);
        check("foo-bar_baz 42x", &["foo", "bar", "baz", "42x"]);
        check("", &[]);
        check("  ,,; ", &[]);
        check("\u{0301}\u{0301} a", &["a"]);
    }

    #[test]
    fn cjk_characters_are_single_tokens() {
        check(
            "私は東京に住んでいます",
            &[
                "私", "は", "東", "京", "に", "住", "ん", "で", "い", "ま", "す",
            ],
        );
        check(
            "서울시 Seoul東京abc",
            &["서", "울", "시", "seoul", "東", "京", "abc"],
        );
        check("カタカナ", &["カ", "タ", "カ", "ナ"]);
    }

    #[test]
    fn long_tokens_are_dropped() {
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        let kept = "b".repeat(MAX_TOKEN_BYTES);
        let text = format!("x {long} {kept} y");
        check(&text, &["x", kept.as_str(), "y"]);
    }

    #[test]
    fn offsets_and_positions_follow_the_source() {
        let mut analyzer = analyzer();
        let text = "Ünïcode 東京 x";
        let mut stream = analyzer.token_stream(text);
        let mut seen = Vec::new();
        while let Some(token) = stream.next() {
            seen.push((
                token.position,
                text[token.offset_from..token.offset_to].to_owned(),
            ));
        }
        assert_eq!(
            seen,
            vec![
                (0, "Ünïcode".to_owned()),
                (1, "東".to_owned()),
                (2, "京".to_owned()),
                (3, "x".to_owned()),
            ]
        );
    }
}
