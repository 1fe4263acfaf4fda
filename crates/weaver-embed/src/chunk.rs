//! Cutting a note into the pieces that are embedded.
//!
//! One chunk per heading section, or several overlapping ones for a long section, each
//! starting with the note's title and the section's heading path (`Garden > Soil > Compost`)
//! so that a chunk says what it is about even when its text does not. Sizes are counted in
//! words, which is cheap and close enough to the model's word pieces: [`CHUNK_WORDS`] words
//! of English are about 200 word pieces, well within [`crate::MAX_TOKENS`]. A character of
//! Han, Kana or Hangul text (written without spaces) counts as a word of its own.

/// Most words of section text in one chunk.
pub const CHUNK_WORDS: usize = 150;

/// Words a chunk of a long section repeats from the end of the previous one, so a sentence cut
/// at a boundary is whole in one of them.
pub const CHUNK_OVERLAP_WORDS: usize = 30;

/// One heading section of a note, as the caller parsed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section<'a> {
    /// The headings above and of this section, outermost first; empty for the text before
    /// the first heading.
    pub headings: Vec<&'a str>,
    /// The section's text (without its heading line).
    pub text: &'a str,
}

/// One piece of a note to embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Index of the section it comes from, in the order given.
    pub section: usize,
    /// The heading path, ` > `-joined (empty before the first heading).
    pub heading: String,
    /// What is embedded: title, heading path and a window of the section's words.
    pub text: String,
}

/// The chunks of a note titled `title` with these sections. A section without text still
/// gets one chunk when it has a heading (the heading alone says something); a note with no
/// text at all gets one chunk of its title, so every note can be found.
pub fn chunks(title: &str, sections: &[Section<'_>]) -> Vec<Chunk> {
    let mut out = Vec::new();
    for (index, section) in sections.iter().enumerate() {
        let heading = section
            .headings
            .iter()
            .map(|h| h.trim())
            .filter(|h| !h.is_empty())
            .collect::<Vec<_>>()
            .join(" > ");
        let words = words(section.text);
        // A note's first heading often repeats its title (`# Title`): said once is enough.
        let said = match heading.split_once(" > ") {
            Some((first, rest)) if first.eq_ignore_ascii_case(title.trim()) => rest,
            None if heading.eq_ignore_ascii_case(title.trim()) => "",
            _ => heading.as_str(),
        };
        let prefix = match (title.trim(), said) {
            ("", "") => String::new(),
            (title, "") => format!("{title}\n"),
            ("", heading) => format!("{heading}\n"),
            (title, heading) => format!("{title} > {heading}\n"),
        };
        if words.is_empty() {
            if !heading.is_empty() {
                out.push(Chunk {
                    section: index,
                    heading: heading.clone(),
                    text: prefix.trim_end().to_owned(),
                });
            }
            continue;
        }
        let step = CHUNK_WORDS - CHUNK_OVERLAP_WORDS;
        let mut start = 0;
        loop {
            let end = (start + CHUNK_WORDS).min(words.len());
            let body = join(words.get(start..end).unwrap_or_default());
            out.push(Chunk {
                section: index,
                heading: heading.clone(),
                text: format!("{prefix}{body}"),
            });
            if end == words.len() {
                break;
            }
            start += step;
        }
    }
    if out.is_empty() && !title.trim().is_empty() {
        out.push(Chunk {
            section: 0,
            heading: String::new(),
            text: title.trim().to_owned(),
        });
    }
    out
}

/// The words of `text`: whitespace-separated runs, with each CJK character a word of its own
/// (joined back without spaces between them).
fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for run in text.split_whitespace() {
        let mut rest = run;
        while !rest.is_empty() {
            match rest.char_indices().find(|&(_, c)| is_cjk(c)) {
                None => {
                    out.push(rest);
                    break;
                }
                Some((at, c)) => {
                    let (before, from) = rest.split_at(at);
                    if !before.is_empty() {
                        out.push(before);
                    }
                    let (cjk, after) = from.split_at(c.len_utf8());
                    out.push(cjk);
                    rest = after;
                }
            }
        }
    }
    out
}

/// Joins words with spaces, except between two CJK characters.
fn join(words: &[&str]) -> String {
    let mut out = String::new();
    let mut previous_cjk = false;
    for word in words {
        let cjk = word.chars().next().is_some_and(is_cjk);
        let glued = out.is_empty() || (cjk && previous_cjk);
        if !glued {
            out.push(' ');
        }
        out.push_str(word);
        previous_cjk = cjk;
    }
    out
}

/// Han, Hiragana, Katakana and Hangul.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{2FDF}' | '\u{3005}'..='\u{3007}' | '\u{3040}'..='\u{30FF}'
        | '\u{3130}'..='\u{318F}' | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}'
        | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3134F}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section<'a>(headings: &[&'a str], text: &'a str) -> Section<'a> {
        Section {
            headings: headings.to_vec(),
            text,
        }
    }

    #[test]
    fn one_chunk_per_short_section_with_title_and_heading_path() {
        let got = chunks(
            "Garden",
            &[
                section(&[], "Intro words here."),
                section(&["Soil", "Compost"], "Turn it weekly."),
                section(&["Empty"], "   "),
            ],
        );
        let texts: Vec<&str> = got.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Garden\nIntro words here.",
                "Garden > Soil > Compost\nTurn it weekly.",
                "Garden > Empty"
            ]
        );
        assert_eq!(got[1].heading, "Soil > Compost");
        assert_eq!(got[1].section, 1);
    }

    #[test]
    fn long_sections_become_overlapping_windows_covering_every_word() {
        let text: Vec<String> = (0..400).map(|i| format!("w{i}")).collect();
        let text = text.join(" ");
        let got = chunks("T", &[section(&["H"], &text)]);
        let windows: Vec<Vec<&str>> = got
            .iter()
            .map(|c| c.text.trim_start_matches("T > H\n").split(' ').collect())
            .collect();
        assert!(windows.iter().all(|w| w.len() <= CHUNK_WORDS));
        assert_eq!(windows[0][0], "w0");
        assert_eq!(windows.last().unwrap().last(), Some(&"w399"));
        // Each window starts CHUNK_OVERLAP_WORDS before the previous one ended.
        assert_eq!(
            windows[1][0],
            format!("w{}", CHUNK_WORDS - CHUNK_OVERLAP_WORDS)
        );
        let mut seen: Vec<&str> = windows.concat();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 400);
    }

    #[test]
    fn cjk_characters_count_as_words_and_join_without_spaces() {
        let text = "東京".repeat(100) + " and more";
        let got = chunks("", &[section(&[], &text)]);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].text, "東京".repeat(75));
        assert!(got[1].text.ends_with("東京 and more"), "{}", got[1].text);
    }

    #[test]
    fn a_note_without_text_is_its_title() {
        assert_eq!(chunks("Lonely", &[])[0].text, "Lonely");
        assert_eq!(chunks("Lonely", &[section(&[], " ")])[0].text, "Lonely");
        assert!(chunks("", &[]).is_empty());
    }
}
