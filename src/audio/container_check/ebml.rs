//! Matroska and WebM files (EBML) walked before symphonia reads them.
//!
//! symphonia-format-mkv 0.5 reads every string and binary element into memory at the size its
//! header claims (`read_boxed_slice_exact`: `vec![0; size]` before a byte is read), compares a
//! child with its parent only when the parent's size is known and never with the file, takes
//! the frame sizes of laced blocks and of Vorbis setup data as they come, and jumps to
//! wherever the SeekHead and the Cues point. So the element tree is walked first: every element
//! inside its parent (a cut-off file may end inside the last ones), every element symphonia
//! reads within a sane size, every lacing within its block, and every index entry on the start
//! of a section this walk has checked. Only headers and lacing bytes are read.

use super::Reader;

/// Largest string or binary element symphonia would read into memory (a frame, codec setup
/// data, a tag): far beyond any real audio or video frame.
const MAX_DATA_ELEMENT_BYTES: u64 = 64 << 20;
/// Deepest nesting walked (real files use about 6 levels).
const MAX_DEPTH: usize = 32;

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const INFO: u32 = 0x1549_A966;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
const CLUSTER: u32 = 0x1F43_B675;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK: u32 = 0xA1;
const CUES: u32 = 0x1C53_BB6B;
const CUE_CLUSTER_POSITION: u32 = 0xF1;
const CHAPTERS: u32 = 0x1043_A770;
const TAGS: u32 = 0x1254_C367;
const ATTACHMENTS: u32 = 0x1941_A469;

/// The sections directly in a Segment: where the SeekHead and the Cues may point, and where an
/// element of unknown size ends.
const SECTIONS: [u32; 8] = [
    SEEK_HEAD,
    INFO,
    TRACKS,
    CLUSTER,
    CUES,
    CHAPTERS,
    TAGS,
    ATTACHMENTS,
];
/// The sections symphonia reads where the SeekHead points.
const SEEK_TARGETS: [u32; 4] = [INFO, TRACKS, TAGS, CUES];

/// Master elements symphonia knows (it reads their children).
const MASTERS: [u32; 30] = [
    EBML,
    SEGMENT,
    SEEK_HEAD,
    SEEK,
    INFO,
    CLUSTER,
    0xA0,
    0x75A1,
    0xA6,
    TRACKS,
    TRACK_ENTRY,
    0xE0,
    0xE1,
    0x6D80,
    0x6240,
    0x5035,
    0x47E7,
    0x55B0,
    0x55D0,
    CUES,
    0xBB,
    0xB7,
    CHAPTERS,
    0x45B9,
    0xB6,
    0x80,
    TAGS,
    0x7373,
    0x63C0,
    0x67C8,
];
/// String and binary elements symphonia reads into memory (Void and CRC-32 it skips).
const DATA_ELEMENTS: [u32; 22] = [
    0x4282,
    0x7BA9,
    0x4D80,
    0x5741,
    SIMPLE_BLOCK,
    BLOCK,
    0xA5,
    0x536E,
    0x22_B59C,
    CODEC_ID,
    CODEC_PRIVATE,
    0x25_8688,
    0x5654,
    0x85,
    0x437C,
    0x437D,
    0x437E,
    0x63CA,
    0x45A3,
    0x447A,
    0x4487,
    0x4485,
];

/// Checks the Matroska/WebM stream whose EBML header starts at `start`.
pub(super) fn check_matroska(reader: &mut Reader, start: u64) -> Result<(), String> {
    let end = reader.file_len();
    let mut walk = Walk {
        reader,
        segment_data_start: None,
        section_starts: Vec::new(),
        index_targets: Vec::new(),
        track: TrackEntry::default(),
        seek: Seek::default(),
    };
    walk.children(start, end, 0, None)?;
    walk.check_index()
}

/// One element's header.
#[derive(Debug, Clone, Copy)]
struct Header {
    id: u32,
    start: u64,
    data_start: u64,
    /// `None` for the one-byte "unknown size" (0xFF), as symphonia reads it.
    size: Option<u64>,
}

/// What the walk remembers across elements.
struct Walk<'r> {
    reader: &'r mut Reader,
    /// Where the first Segment's data starts: index positions count from there.
    segment_data_start: Option<u64>,
    section_starts: Vec<u64>,
    /// Positions the SeekHead and the Cues point to.
    index_targets: Vec<u64>,
    /// The track entry being walked.
    track: TrackEntry,
    /// The SeekHead entry being walked.
    seek: Seek,
}

#[derive(Default)]
struct TrackEntry {
    codec_id: Option<String>,
    /// Where the codec private data starts, and its size.
    codec_private: Option<(u64, u64)>,
}

#[derive(Default)]
struct Seek {
    id: Option<u64>,
    position: Option<u64>,
}

impl Walk<'_> {
    /// Walks the elements from `start` to `end` at `depth`. Inside an element of unknown size
    /// (`unknown_size_of`), a section or a new Segment ends it: returns where the walk stopped.
    fn children(
        &mut self,
        start: u64,
        end: u64,
        depth: usize,
        unknown_size_of: Option<u32>,
    ) -> Result<u64, String> {
        if depth > MAX_DEPTH {
            return Err("Matroska elements are nested too deeply".to_string());
        }
        let file_end = self.reader.file_len();
        let mut position = start;
        while position < end {
            let Some(header) = self.header(position)? else {
                return Ok(end); // the file ends inside a header: a cut-off recording
            };
            if let Some(parent) = unknown_size_of
                && ends_unknown_size(parent, header.id)
            {
                return Ok(position);
            }
            let declared_end = header
                .size
                .map(|size| header.data_start.saturating_add(size));
            if declared_end.is_some_and(|declared| declared > end) && end < file_end {
                return Err(format!(
                    "Matroska element 0x{:X} at byte {} runs past the element that holds it",
                    header.id, header.start
                ));
            }
            if SECTIONS.contains(&header.id) {
                self.section_starts.push(header.start);
            }
            position = if MASTERS.contains(&header.id) {
                let element_end = declared_end.unwrap_or(end).min(end);
                let stopped = self.master(&header, element_end, depth)?;
                if header.size.is_some() {
                    element_end
                } else {
                    stopped
                }
            } else {
                self.data(&header)?;
                declared_end.unwrap_or(header.data_start).min(end)
            };
        }
        Ok(position.min(end))
    }

    /// Walks a master element's children and checks what they say together.
    fn master(&mut self, header: &Header, end: u64, depth: usize) -> Result<u64, String> {
        match header.id {
            SEGMENT if self.segment_data_start.is_none() => {
                self.segment_data_start = Some(header.data_start);
            }
            TRACK_ENTRY => self.track = TrackEntry::default(),
            SEEK => self.seek = Seek::default(),
            _ => {}
        }
        let unknown_size_of = header.size.is_none().then_some(header.id);
        let stopped = self.children(header.data_start, end, depth + 1, unknown_size_of)?;
        match header.id {
            TRACK_ENTRY => self.check_codec_private()?,
            SEEK => {
                let seek = std::mem::take(&mut self.seek);
                if let (Some(id), Some(position)) = (seek.id, seek.position)
                    && SEEK_TARGETS.iter().any(|&target| u64::from(target) == id)
                {
                    self.index_target(position);
                }
            }
            _ => {}
        }
        Ok(stopped)
    }

    /// Checks an element that is not a master: its size if symphonia reads it into memory,
    /// its lacing if it is a block; remembers what the index and the codec check need.
    fn data(&mut self, header: &Header) -> Result<(), String> {
        let size = header.size.unwrap_or(0);
        if DATA_ELEMENTS.contains(&header.id) && size > MAX_DATA_ELEMENT_BYTES {
            return Err(format!(
                "Matroska element 0x{:X} at byte {} claims {size} bytes",
                header.id, header.start
            ));
        }
        let whole = header.data_start.saturating_add(size) <= self.reader.file_len();
        match header.id {
            // A block the file cuts short is never handed to the lacing code.
            SIMPLE_BLOCK | BLOCK if whole => check_lacing(self.reader, header.data_start, size),
            CODEC_ID if whole && size <= 64 => {
                let mut id = vec![0_u8; size as usize];
                self.reader
                    .read_exact_at(header.data_start, &mut id)
                    .map_err(|error| error.to_string())?;
                let id = id.split(|&byte| byte == 0).next().unwrap_or_default();
                self.track.codec_id = Some(String::from_utf8_lossy(id).into_owned());
                Ok(())
            }
            CODEC_PRIVATE if whole => {
                self.track.codec_private = Some((header.data_start, size));
                Ok(())
            }
            SEEK_ID => {
                self.seek.id = self.unsigned(header)?;
                Ok(())
            }
            SEEK_POSITION => {
                self.seek.position = self.unsigned(header)?;
                Ok(())
            }
            CUE_CLUSTER_POSITION => {
                if let Some(position) = self.unsigned(header)? {
                    self.index_target(position);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// An unsigned integer element as symphonia reads it (`None` if it would refuse it).
    fn unsigned(&mut self, header: &Header) -> Result<Option<u64>, String> {
        let size = header.size.unwrap_or(0);
        if size > 8 || header.data_start + size > self.reader.file_len() {
            return Ok(None);
        }
        let mut bytes = [0_u8; 8];
        self.reader
            .read_exact_at(header.data_start, &mut bytes[8 - size as usize..])
            .map_err(|error| error.to_string())?;
        Ok(Some(u64::from_be_bytes(bytes)))
    }

    fn index_target(&mut self, position: u64) {
        if let Some(segment) = self.segment_data_start {
            // symphonia adds without checking; so does this, to land where it would.
            self.index_targets.push(segment.wrapping_add(position));
        }
    }

    /// Vorbis setup data in a track's CodecPrivate: Xiph-laced packets, each within it.
    fn check_codec_private(&mut self) -> Result<(), String> {
        let track = std::mem::take(&mut self.track);
        match (track.codec_id.as_deref(), track.codec_private) {
            (Some("A_VORBIS"), Some((start, size))) => {
                let mut cursor = Cursor::new(self.reader, start, start + size);
                let what = "the Vorbis setup packets of a Matroska track";
                let count = cursor.byte().map_err(|_| format!("{what} are cut short"))?;
                let mut lengths = 0_u64;
                for _ in 0..count {
                    lengths = lengths.saturating_add(cursor.xiph_size()?);
                }
                cursor.fits(lengths, what)
            }
            _ => Ok(()),
        }
    }

    /// Every index entry inside the file must point to the start of a section the walk
    /// checked; symphonia would read an element header wherever it points.
    fn check_index(&mut self) -> Result<(), String> {
        self.section_starts.sort_unstable();
        let file_end = self.reader.file_len();
        for &target in &self.index_targets {
            if target < file_end && self.section_starts.binary_search(&target).is_err() {
                return Err(format!(
                    "the Matroska index points to byte {target}, which is not the start of a section"
                ));
            }
        }
        Ok(())
    }

    /// The element header at `position`, or `None` if the file ends inside it.
    fn header(&mut self, position: u64) -> Result<Option<Header>, String> {
        let mut cursor = Cursor::new(self.reader, position, u64::MAX);
        let Ok(first) = cursor.byte() else {
            return Ok(None);
        };
        // symphonia skips ahead looking for a section after such a byte; refuse instead.
        let id_width = first.leading_zeros();
        if id_width > 3 {
            return Err(format!(
                "the Matroska structure is damaged at byte {position}"
            ));
        }
        let mut id = u32::from(first);
        for _ in 0..id_width {
            let Ok(byte) = cursor.byte() else {
                return Ok(None);
            };
            id = (id << 8) | u32::from(byte);
        }
        let size = match cursor.vint() {
            Ok(Vint::Value(size)) => Some(size),
            Ok(Vint::Unknown) => None,
            Err(CursorError::End) => return Ok(None),
            Err(CursorError::Damaged) => {
                return Err(format!(
                    "a Matroska element size is damaged at byte {position}"
                ));
            }
        };
        Ok(Some(Header {
            id,
            start: position,
            data_start: cursor.position,
            size,
        }))
    }
}

/// Whether element `id` ends an element `parent` of unknown size (the next section, or a new
/// Segment or EBML header).
fn ends_unknown_size(parent: u32, id: u32) -> bool {
    let new_stream = id == EBML || id == SEGMENT;
    new_stream || (parent != SEGMENT && SECTIONS.contains(&id))
}

/// A SimpleBlock or Block from `start`, `size` bytes: the frame sizes its lacing gives (Xiph
/// or EBML) must fit in what follows them.
fn check_lacing(reader: &mut Reader, start: u64, size: u64) -> Result<(), String> {
    let mut cursor = Cursor::new(reader, start, start + size);
    let header = (|| {
        let track_width = cursor.byte()?.leading_zeros() + 1; // symphonia reads 9 for a 0 byte
        cursor.skip(u64::from(track_width) - 1 + 2)?; // the rest of the track, the time
        let flags = cursor.byte()?;
        Ok::<u8, CursorError>((flags >> 1) & 0b11)
    })();
    let lacing = match header {
        Ok(lacing) => lacing,
        Err(_) => return Ok(()), // too short: symphonia fails before reading frames
    };
    let what = "a laced Matroska block";
    let frames = u64::from(match lacing {
        0b01 | 0b11 => cursor.byte().map_err(|_| format!("{what} is cut short"))?,
        _ => return Ok(()), // one frame, or equal frames: the block's own size
    });
    let mut total = 0_u64;
    if lacing == 0b01 {
        for _ in 0..frames {
            total = total.saturating_add(cursor.xiph_size()?);
        }
    } else {
        // EBML lacing: the first size, then signed differences (added as symphonia does).
        let mut size = 0_u64;
        for index in 0..frames {
            size = match (index, cursor.vint_with_width()) {
                (0, Ok((Vint::Value(value), _))) => value,
                (_, Ok((Vint::Value(value), width))) => {
                    let half_range = (1_i64 << (7 * width - 1)) - 1;
                    (size as i64).wrapping_add((value as i64).wrapping_sub(half_range)) as u64
                }
                _ => return Err(format!("{what} has a damaged frame size")),
            };
            total = total.saturating_add(size);
        }
    }
    cursor.fits(total, what)
}

/// Sequential reads of small fields within `position..end`.
struct Cursor<'r> {
    reader: &'r mut Reader,
    position: u64,
    end: u64,
}

enum CursorError {
    /// The data ends first.
    End,
    /// A variable-size integer that cannot be one.
    Damaged,
}

enum Vint {
    Value(u64),
    /// The one-byte all-ones size.
    Unknown,
}

impl<'r> Cursor<'r> {
    fn new(reader: &'r mut Reader, position: u64, end: u64) -> Cursor<'r> {
        Cursor {
            reader,
            position,
            end,
        }
    }

    fn byte(&mut self) -> Result<u8, CursorError> {
        if self.position >= self.end {
            return Err(CursorError::End);
        }
        let [byte] = self
            .reader
            .bytes::<1>(self.position)
            .map_err(|_| CursorError::End)?;
        self.position += 1;
        Ok(byte)
    }

    fn skip(&mut self, count: u64) -> Result<(), CursorError> {
        self.position = self.position.saturating_add(count);
        if self.position > self.end {
            return Err(CursorError::End);
        }
        Ok(())
    }

    fn vint(&mut self) -> Result<Vint, CursorError> {
        self.vint_with_width().map(|(value, _)| value)
    }

    /// An EBML variable-size integer and its width in bytes.
    fn vint_with_width(&mut self) -> Result<(Vint, u32), CursorError> {
        let first = self.byte()?;
        if first == 0xFF {
            return Ok((Vint::Unknown, 1));
        }
        if first == 0 {
            return Err(CursorError::Damaged);
        }
        let width = first.leading_zeros() + 1;
        // The marker bit and the zeros before it are not part of the value.
        let mut value = u64::from(first) & (0xFF_u64 >> width);
        for _ in 1..width {
            value = (value << 8) | u64::from(self.byte()?);
        }
        Ok((Vint::Value(value), width))
    }

    /// A Xiph lacing size: bytes of 255 added up, ended by one below 255.
    fn xiph_size(&mut self) -> Result<u64, String> {
        let mut size = 0_u64;
        loop {
            let byte = self
                .byte()
                .map_err(|_| "Matroska lacing runs past its data".to_string())?;
            size += u64::from(byte);
            if byte < 255 {
                return Ok(size);
            }
        }
    }

    /// Whether `total` bytes fit between here and the end.
    fn fits(&self, total: u64, what: &str) -> Result<(), String> {
        let room = self.end.saturating_sub(self.position);
        if total > room {
            return Err(format!(
                "{what} claims frames of {total} bytes in {room} bytes"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An element: its ID bytes, an 8-byte size, its payload.
    fn element(id: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut bytes = id.to_vec();
        bytes.push(0x01);
        bytes.extend_from_slice(&(payload.len() as u64).to_be_bytes()[1..]);
        bytes.extend_from_slice(payload);
        bytes
    }

    fn with_size(id: &[u8], size: u64) -> Vec<u8> {
        let mut bytes = id.to_vec();
        bytes.push(0x01);
        bytes.extend_from_slice(&size.to_be_bytes()[1..]);
        bytes
    }

    fn check_bytes(bytes: &[u8]) -> Result<(), String> {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("test.mkv");
        std::fs::write(&path, bytes).unwrap();
        let mut reader = Reader::open(&path).unwrap();
        check_matroska(&mut reader, 0)
    }

    fn ebml_header() -> Vec<u8> {
        element(&[0x1A, 0x45, 0xDF, 0xA3], &element(&[0x42, 0x82], b"webm"))
    }

    fn file_with_segment(children: &[u8]) -> Vec<u8> {
        let mut file = ebml_header();
        file.extend(element(&[0x18, 0x53, 0x80, 0x67], children));
        file
    }

    fn simple_block(lacing: u8, rest: &[u8]) -> Vec<u8> {
        let mut block = vec![0x81, 0, 0, lacing << 1];
        block.extend_from_slice(rest);
        element(&[0xA3], &block)
    }

    fn cluster(children: &[u8]) -> Vec<u8> {
        element(&[0x1F, 0x43, 0xB6, 0x75], children)
    }

    #[test]
    fn a_plain_file_passes_and_a_huge_element_is_refused() {
        let good = file_with_segment(&cluster(&simple_block(0, &[1, 2, 3])));
        assert_eq!(check_bytes(&good), Ok(()));
        // A DocType string claiming 2^50 bytes.
        let mut huge = element(
            &[0x1A, 0x45, 0xDF, 0xA3],
            &with_size(&[0x42, 0x82], 1 << 50),
        );
        huge.extend_from_slice(b"webm");
        assert!(check_bytes(&huge).unwrap_err().contains("4282"));
    }

    #[test]
    fn children_stay_inside_their_parent() {
        let mut tracks = with_size(&[0x16, 0x54, 0xAE, 0x6B], 4);
        tracks.extend(element(&[0x86], b"A_OPUS"));
        let mut file = file_with_segment(&tracks);
        file.extend(cluster(&[]));
        assert!(check_bytes(&file).unwrap_err().contains("runs past"));
        // A file cut off inside its last cluster is a recording that stopped, not an attack.
        let mut cut = file_with_segment(&cluster(&simple_block(0, &[0; 100])));
        cut.truncate(cut.len() - 50);
        assert_eq!(check_bytes(&cut), Ok(()));
    }

    #[test]
    fn laced_frames_must_fit_in_their_block() {
        // Xiph: two sizes (3 and 2) before the last frame, 6 bytes of frames.
        let good = simple_block(0b01, &[2, 3, 2, 0, 0, 0, 0, 0, 0]);
        assert_eq!(check_bytes(&file_with_segment(&cluster(&good))), Ok(()));
        let bad = simple_block(0b01, &[1, 255, 255, 255, 10, 0, 0]);
        assert!(
            check_bytes(&file_with_segment(&cluster(&bad)))
                .unwrap_err()
                .contains("laced")
        );
        // EBML lacing: a first frame of 2^56 - 2 bytes.
        let huge = simple_block(
            0b11,
            &[1, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0],
        );
        assert!(
            check_bytes(&file_with_segment(&cluster(&huge)))
                .unwrap_err()
                .contains("laced")
        );
        // A difference that makes the second size negative (a huge unsigned number).
        let negative = simple_block(0b11, &[2, 0x82, 0x80, 0, 0, 0]);
        assert!(check_bytes(&file_with_segment(&cluster(&negative))).is_err());
    }

    #[test]
    fn vorbis_setup_packets_must_fit() {
        let mut entry = element(&[0x86], b"A_VORBIS");
        entry.extend(element(
            &[0x63, 0xA2],
            &[2, 255, 255, 255, 255, 10, 1, 0, 0],
        ));
        let tracks = element(&[0x16, 0x54, 0xAE, 0x6B], &element(&[0xAE], &entry));
        assert!(
            check_bytes(&file_with_segment(&tracks))
                .unwrap_err()
                .contains("Vorbis")
        );
    }

    #[test]
    fn index_entries_must_point_at_sections() {
        let info = element(
            &[0x15, 0x49, 0xA9, 0x66],
            &element(&[0x2A, 0xD7, 0xB1], &[1]),
        );
        let seek_to = |position: u8| {
            let mut seek = element(&[0x53, 0xAB], &[0x15, 0x49, 0xA9, 0x66]);
            seek.extend(element(&[0x53, 0xAC], &[position]));
            element(&[0x11, 0x4D, 0x9B, 0x74], &element(&[0x4D, 0xBB], &seek))
        };
        let head_len = seek_to(0).len() as u8;
        let mut good = seek_to(head_len);
        good.extend(info.clone());
        assert_eq!(check_bytes(&file_with_segment(&good)), Ok(()));
        let mut inside = seek_to(head_len + 3);
        inside.extend(info);
        assert!(
            check_bytes(&file_with_segment(&inside))
                .unwrap_err()
                .contains("index")
        );
    }

    #[test]
    fn unknown_sizes_end_at_the_next_section() {
        let mut unknown_cluster = vec![0x1F, 0x43, 0xB6, 0x75, 0xFF];
        unknown_cluster.extend(simple_block(0, &[1, 2]));
        let mut children = unknown_cluster.clone();
        children.extend(unknown_cluster);
        let mut file = ebml_header();
        file.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0xFF]);
        file.extend(children);
        assert_eq!(check_bytes(&file), Ok(()));
        file.push(0x00);
        assert!(check_bytes(&file).unwrap_err().contains("damaged"));
    }
}
