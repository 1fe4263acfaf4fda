//! Bounded text for error messages: a message names the value it refuses, but a refused value
//! can be megabytes long (a path, a heading, a find text), and a message must stay small.

use std::borrow::Cow;

/// The most bytes of one client-given value an error message repeats.
pub const MAX_VALUE_BYTES: usize = 200;

/// `text` cut to at most `max_bytes` bytes on a character boundary, with
/// `… (N more bytes)` appended when anything was cut.
pub fn clip(text: &str, max_bytes: usize) -> Cow<'_, str> {
    if text.len() <= max_bytes {
        return Cow::Borrowed(text);
    }
    let mut cut = max_bytes;
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let (kept, rest) = text.split_at(cut);
    Cow::Owned(format!("{kept}… ({} more bytes)", rest.len()))
}

/// A client-given value as an error message repeats it: at most [`MAX_VALUE_BYTES`].
pub fn clip_value(text: &str) -> Cow<'_, str> {
    clip(text, MAX_VALUE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_on_character_boundaries_and_says_how_much() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("abcdef", 3), "abc… (3 more bytes)");
        // `é` is two bytes: a cut inside it moves back before it.
        assert_eq!(clip("aé", 2), "a… (2 more bytes)");
        assert_eq!(clip_value(&"x".repeat(10_000)).len(), MAX_VALUE_BYTES + 21);
    }
}
