//! Word error rate, for tests and benchmarks that measure transcription quality.
//!
//! Both sides are normalised first — lower case, punctuation removed, whitespace collapsed —
//! as the test data's README prescribes.

/// Lower case, punctuation (except in-word apostrophes and hyphens turned into spaces)
/// removed, whitespace collapsed.
pub fn normalize(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            cleaned.extend(ch.to_lowercase());
        } else if ch == '\'' || ch == '’' {
            // "don't" stays one word
        } else {
            cleaned.push(' ');
        }
    }
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Word error rate of `hypothesis` against `reference`: (substitutions + deletions +
/// insertions) / reference words, after [`normalize`]. An empty reference gives 0 for an
/// empty hypothesis and 1 otherwise.
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let reference = normalize(reference);
    let hypothesis = normalize(hypothesis);
    let reference: Vec<&str> = reference.split_whitespace().collect();
    let hypothesis: Vec<&str> = hypothesis.split_whitespace().collect();
    if reference.is_empty() {
        return if hypothesis.is_empty() { 0.0 } else { 1.0 };
    }
    let mut previous: Vec<usize> = (0..=hypothesis.len()).collect();
    let mut current = vec![0; hypothesis.len() + 1];
    for (i, reference_word) in reference.iter().enumerate() {
        current[0] = i + 1;
        for (j, hypothesis_word) in hypothesis.iter().enumerate() {
            let substitution = previous[j] + usize::from(reference_word != hypothesis_word);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[hypothesis.len()] as f64 / reference.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_ignores_case_and_punctuation() {
        assert_eq!(normalize("And so, my fellow Americans: ask NOT!"), "and so my fellow americans ask not");
        assert_eq!(word_error_rate("Don't stop.", "dont stop"), 0.0);
    }

    #[test]
    fn counts_substitutions_insertions_and_deletions() {
        assert_eq!(word_error_rate("a b c d", "a x c d"), 0.25);
        assert_eq!(word_error_rate("a b c d", "a b c d e"), 0.25);
        assert_eq!(word_error_rate("a b c d", "a c d"), 0.25);
        assert_eq!(word_error_rate("", ""), 0.0);
        assert_eq!(word_error_rate("a", ""), 1.0);
    }
}
