//! Cue text markup: tags and character references, stripped to plain text for import.
//!
//! Real files mix WebVTT spans (`<c.yellow>`, `<v Bob>`, `<00:01.000>`), SubRip's HTML-ish
//! styling (`<font color=…>`, `<i>`) and SubStation override blocks (`{\an8}`). Only the
//! speaker of a voice span is kept.

/// A `<` starts a tag when a letter, a digit (a timestamp) or `/` follows it and a `>` closes
/// it on the same line before any other `<`. Returns the tag's inside and the byte length of
/// the whole tag.
fn tag_at(rest: &str) -> Option<(&str, usize)> {
    let inner = rest.strip_prefix('<')?;
    let first = inner.chars().next()?;
    if !(first.is_ascii_alphanumeric() || first == '/') {
        return None;
    }
    let close = inner.find(['>', '<'])?;
    if inner.get(close..close + 1) != Some(">") {
        return None;
    }
    Some((inner.get(..close)?, close + 2))
}

/// The speaker of a voice tag (`v Bob`, `v.loud Bob`), if `tag` is one.
fn voice_of(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix('v')?;
    if !(rest.starts_with('.') || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    let annotation = rest
        .split_once(char::is_whitespace)
        .map(|(_, name)| name)
        .unwrap_or("");
    let name = collapse_whitespace(&decode_entities(annotation));
    if name.is_empty() { None } else { Some(name) }
}

/// Removes tags and `{\…}` override blocks from one line of cue text, then decodes character
/// references. The first voice span's speaker is stored in `voice` if it is still empty.
pub fn strip_markup(line: &str, voice: &mut Option<String>) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            if let Some((tag, length)) = tag_at(rest) {
                if voice.is_none() {
                    *voice = voice_of(tag);
                }
                let name = tag
                    .trim_start_matches('/')
                    .trim_end_matches('/')
                    .trim()
                    .to_ascii_lowercase();
                if name == "br" {
                    out.push(' ');
                }
                rest = rest.get(length..).unwrap_or("");
                continue;
            }
        }
        if c == '{' && rest.starts_with("{\\") {
            if let Some(close) = rest.find('}') {
                rest = rest.get(close + 1..).unwrap_or("");
                continue;
            }
        }
        out.push(c);
        rest = rest.get(c.len_utf8()..).unwrap_or("");
    }
    decode_entities(&out)
}

/// The character a reference such as `amp`, `#39` or `#x27` stands for (`nbsp` becomes a
/// plain space, the direction marks nothing).
fn entity(name: &str) -> Option<Option<char>> {
    let named = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        "lrm" | "rlm" => return Some(None),
        _ => None,
    };
    if named.is_some() {
        return Some(named);
    }
    let number = name.strip_prefix('#')?;
    let code = match number.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => number.parse::<u32>().ok()?,
    };
    char::from_u32(code)
        .filter(|c| !c.is_control() || c.is_whitespace())
        .map(Some)
}

/// Decodes `&name;` and `&#…;` references; anything else stays as written.
pub fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(position) = rest.find('&') {
        out.push_str(rest.get(..position).unwrap_or(""));
        let after = rest.get(position + 1..).unwrap_or("");
        let reference = after.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = after.get(..end)?;
            entity(name).map(|decoded| (decoded, end + 1))
        });
        match reference {
            Some((decoded, length)) => {
                if let Some(c) = decoded {
                    out.push(c);
                }
                rest = after.get(length..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Runs of whitespace to single spaces, trimmed.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(line: &str) -> (String, Option<String>) {
        let mut voice = None;
        let text = strip_markup(line, &mut voice);
        (collapse_whitespace(&text), voice)
    }

    #[test]
    fn tags_are_removed_and_voices_kept() {
        assert_eq!(
            strip("<v.loud Mary Ann>Hi <b>there</b></v>"),
            ("Hi there".into(), Some("Mary Ann".into()))
        );
        assert_eq!(
            strip("<font color=\"#00ff00\"><b>[music]</b></font>").0,
            "[music]"
        );
        assert_eq!(strip("this<00:05:04.199><c> will</c>").0, "this will");
        assert_eq!(strip("{\\an8}Top").0, "Top");
        assert_eq!(strip("<i>x</i>^3 * <i>x</i> = 100").0, "x^3 * x = 100");
        assert_eq!(strip("a < b > c <3").0, "a < b > c <3");
        assert_eq!(strip("one<br>two").0, "one two");
    }

    #[test]
    fn references_are_decoded() {
        assert_eq!(
            decode_entities("&amp; &lt;b&gt; Go,&nbsp;then &#39;x&#x27; &bogus; & fish"),
            "& <b> Go, then 'x' &bogus; & fish"
        );
        assert_eq!(strip("&lt;i&gt;literal&lt;/i&gt;").0, "<i>literal</i>");
    }
}
