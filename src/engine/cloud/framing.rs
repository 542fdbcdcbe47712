//! Splitting streamed bodies into messages: NDJSON lines (Gradium) and server-sent events
//! (PolarGrid), however the bytes happen to be chunked on the wire — one byte at a time
//! included.

/// Splits a byte stream into lines (`\n` or `\r\n`), refusing a line longer than a limit so a
/// server that never sends a newline cannot fill memory.
#[derive(Debug)]
pub struct LineSplitter {
    pending: Vec<u8>,
    max_line_bytes: usize,
}

/// A line went past the limit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("a line longer than {0} bytes")]
pub struct LineTooLong(pub usize);

impl LineSplitter {
    pub fn new(max_line_bytes: usize) -> LineSplitter {
        LineSplitter {
            pending: Vec::new(),
            max_line_bytes,
        }
    }

    /// Adds bytes; returns the lines they complete (without their line ending).
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>, LineTooLong> {
        let mut lines = Vec::new();
        for &byte in bytes {
            if byte == b'\n' {
                lines.push(self.take_line());
            } else {
                self.pending.push(byte);
                if self.pending.len() > self.max_line_bytes {
                    return Err(LineTooLong(self.max_line_bytes));
                }
            }
        }
        Ok(lines)
    }

    /// The last line, when the stream ended without a newline after it.
    pub fn finish(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            None
        } else {
            Some(self.take_line())
        }
    }

    fn take_line(&mut self) -> String {
        let mut line = std::mem::take(&mut self.pending);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        String::from_utf8_lossy(&line).into_owned()
    }
}

/// One server-sent event: its `event:` name (if any) and its `data:` lines joined by `\n`.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Parses `text/event-stream` per the WHATWG rules that matter here: `data:` lines gather
/// until a blank line, `event:` names the event, lines starting with `:` are comments, and
/// `id:`/`retry:` are ignored.
#[derive(Debug)]
pub struct SseParser {
    lines: LineSplitter,
    event: Option<String>,
    data: Vec<String>,
}

impl SseParser {
    pub fn new(max_line_bytes: usize) -> SseParser {
        SseParser {
            lines: LineSplitter::new(max_line_bytes),
            event: None,
            data: Vec::new(),
        }
    }

    /// Adds bytes; returns the events they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<SseEvent>, LineTooLong> {
        let mut events = Vec::new();
        for line in self.lines.push(bytes)? {
            if let Some(event) = self.take_line(&line) {
                events.push(event);
            }
        }
        Ok(events)
    }

    /// The event still open when the stream ended (a server that omits the last blank line).
    pub fn finish(&mut self) -> Option<SseEvent> {
        if let Some(line) = self.lines.finish()
            && let Some(event) = self.take_line(&line)
        {
            return Some(event);
        }
        self.dispatch()
    }

    fn take_line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            return self.dispatch();
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => self.data.push(value.to_string()),
            "event" => self.event = Some(value.to_string()),
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if self.data.is_empty() {
            return None;
        }
        let data = std::mem::take(&mut self.data).join("\n");
        Some(SseEvent { event, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_survive_byte_by_byte_delivery_and_crlf() {
        let input = b"{\"a\":1}\r\n\n{\"b\":2}\n{\"c\":3}";
        let mut splitter = LineSplitter::new(100);
        let mut lines = Vec::new();
        for byte in input {
            lines.extend(splitter.push(&[*byte]).unwrap());
        }
        lines.extend(splitter.finish());
        assert_eq!(lines, ["{\"a\":1}", "", "{\"b\":2}", "{\"c\":3}"]);
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut splitter = LineSplitter::new(8);
        assert!(splitter.push(b"123456").is_ok());
        assert_eq!(splitter.push(b"789"), Err(LineTooLong(8)));
    }

    #[test]
    fn sse_gathers_data_lines_and_skips_comments() {
        let input = ": keep-alive\nevent: message\ndata: {\"x\":\ndata: 1}\n\ndata:[DONE]\n\n";
        let mut parser = SseParser::new(1000);
        let mut events = Vec::new();
        for chunk in input.as_bytes().chunks(3) {
            events.extend(parser.push(chunk).unwrap());
        }
        assert_eq!(
            events,
            [
                SseEvent {
                    event: Some("message".into()),
                    data: "{\"x\":\n1}".into()
                },
                SseEvent {
                    event: None,
                    data: "[DONE]".into()
                },
            ]
        );
        assert_eq!(parser.finish(), None);
    }

    #[test]
    fn sse_without_a_final_blank_line_still_delivers_the_last_event() {
        let mut parser = SseParser::new(1000);
        assert!(parser.push(b"data: last").unwrap().is_empty());
        assert_eq!(
            parser.finish(),
            Some(SseEvent {
                event: None,
                data: "last".into()
            })
        );
    }
}
