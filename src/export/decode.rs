//! Subtitle file bytes to text: byte order marks, UTF-16, legacy 8-bit encodings and the
//! three kinds of line ending found in real files.

/// Decodes subtitle bytes: a UTF-8, UTF-16LE or UTF-16BE byte order mark wins; UTF-16
/// without a mark is recognised by its zero bytes; otherwise UTF-8, falling back to
/// Windows-1252 (a superset of Latin-1 for printable text) when the bytes are not valid
/// UTF-8. Line endings come out as `\n` (CRLF and CR-only both converted), without a BOM.
pub fn decode_text(bytes: &[u8]) -> String {
    let text = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        utf8_or_windows_1252(rest)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        utf16(rest, u16::from_le_bytes)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        utf16(rest, u16::from_be_bytes)
    } else {
        match bomless_utf16(bytes) {
            Some(Endian::Little) => utf16(bytes, u16::from_le_bytes),
            Some(Endian::Big) => utf16(bytes, u16::from_be_bytes),
            None => utf8_or_windows_1252(bytes),
        }
    };
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text);
    normalize_line_endings(&text)
}

enum Endian {
    Little,
    Big,
}

/// Text made of ASCII in UTF-16 has a zero in every other byte.
fn bomless_utf16(bytes: &[u8]) -> Option<Endian> {
    let sample = bytes.get(..bytes.len().min(512))?;
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return None;
    }
    let zeros_at = |parity: usize| {
        sample
            .iter()
            .skip(parity)
            .step_by(2)
            .filter(|byte| **byte == 0)
            .count()
    };
    let (even_zeros, odd_zeros) = (zeros_at(0), zeros_at(1));
    if odd_zeros * 10 >= pairs * 7 && even_zeros * 20 <= pairs {
        Some(Endian::Little)
    } else if even_zeros * 10 >= pairs * 7 && odd_zeros * 20 <= pairs {
        Some(Endian::Big)
    } else {
        None
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).filter_map(|pair| match pair {
        [first, second] => Some(unit([*first, *second])),
        _ => None,
    });
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

fn utf8_or_windows_1252(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => bytes.iter().map(|byte| windows_1252_char(*byte)).collect(),
    }
}

/// Windows-1252: Latin-1 except 0x80–0x9F, which hold typographic punctuation. The five
/// unassigned bytes map to the C1 control of the same value, as browsers do.
fn windows_1252_char(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9F => HIGH
            .get(usize::from(byte - 0x80))
            .copied()
            .unwrap_or(char::REPLACEMENT_CHARACTER),
        _ => char::from(byte),
    }
}

fn normalize_line_endings(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_marks_and_line_endings() {
        assert_eq!(decode_text(b"\xEF\xBB\xBFa\r\nb\rc\n"), "a\nb\nc\n");
        assert_eq!(decode_text(b"\xFF\xFEh\0i\0\r\0\n\0"), "hi\n");
        assert_eq!(decode_text(b"\xFE\xFF\0h\0i"), "hi");
        assert_eq!(decode_text(b"h\0e\0l\0l\0o\0"), "hello");
    }

    #[test]
    fn invalid_utf8_is_read_as_windows_1252() {
        assert_eq!(decode_text(b"Det \xe4r \x93bra\x94 \x80"), "Det är “bra” €");
        assert_eq!(decode_text("Det är".as_bytes()), "Det är");
    }
}
