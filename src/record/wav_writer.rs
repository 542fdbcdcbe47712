//! A WAV writer for recordings that must survive a crash, a power cut or a full disk.
//!
//! 16-bit PCM at the capture's own rate and channel count, written straight to the file's final
//! place. The caller makes the header true (`checkpoint`: RIFF and data sizes rewritten, then
//! `sync_data`) at least every second, so a killed process leaves a file any strict reader
//! opens, holding everything up to the last checkpoint; `recovery` then extends the header to
//! the frames actually on disk.
//!
//! Past 4 GiB (the RIFF size field is 32 bits) the file becomes RF64 in place (EBU Tech 3306):
//! every file starts with a 28-byte `JUNK` chunk right after `WAVE`, which the switch rewrites
//! into the `ds64` chunk holding the 64-bit sizes, and the 32-bit fields become 0xFFFFFFFF.
//! One file for the whole recording, never a "next file": players, our reader and the engines
//! all read RF64, and a recording split in two would need joining before transcription.
//!
//! A failed write (ENOSPC) leaves the writer knowing exactly how many bytes reached the file;
//! `salvage` cuts a partial frame and makes the header match what is on disk.

use super::source::SourceFormat;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};

/// The file a recording goes to: a `File`, or in tests one that fails like a full disk.
pub trait RecordingFile: Write + Seek + Send {
    fn sync_data(&mut self) -> io::Result<()>;
    fn set_len(&mut self, len: u64) -> io::Result<()>;
}

impl RecordingFile for File {
    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }
}

/// Largest RIFF size field (file length − 8) before the file must become RF64.
pub const RIFF_LIMIT_BYTES: u64 = u32::MAX as u64;
/// Bytes per sample: 16-bit PCM.
pub const BYTES_PER_SAMPLE: usize = 2;
/// Where the reserved `JUNK`/`ds64` chunk starts, and its payload length.
pub(crate) const DS64_OFFSET: u64 = 12;
pub(crate) const DS64_PAYLOAD_BYTES: u32 = 28;
/// The `fmt ` chunk follows the reserved chunk.
pub(crate) const FMT_OFFSET: u64 = DS64_OFFSET + 8 + DS64_PAYLOAD_BYTES as u64;
const FORMAT_PCM: u16 = 0x0001;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// KSDATAFORMAT_SUBTYPE_PCM, for WAVE_FORMAT_EXTENSIBLE (more than two channels).
const PCM_SUBFORMAT_GUID: [u8; 16] = [
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];

/// Header bytes of our layout: RIFF or RF64 header, reserved/`ds64` chunk, `fmt `, `data`
/// header. `recovery` rebuilds headers with it too.
pub(crate) fn header_bytes(format: SourceFormat, data_bytes: u64, riff_limit_bytes: u64) -> Vec<u8> {
    let channel_count = format.channel_count.clamp(1, usize::from(u16::MAX)) as u16;
    let block_align = channel_count * BYTES_PER_SAMPLE as u16;
    let extensible = channel_count > 2;
    let fmt_len: u32 = if extensible { 40 } else { 16 };
    let header_len = header_len(format);
    let riff_bytes = header_len - 8 + data_bytes;
    let rf64 = riff_bytes > riff_limit_bytes;
    let frame_count = data_bytes / u64::from(block_align);
    let mut header = Vec::with_capacity(header_len as usize);
    header.extend_from_slice(if rf64 { b"RF64" } else { b"RIFF" });
    header.extend_from_slice(&(if rf64 { u32::MAX } else { riff_bytes as u32 }).to_le_bytes());
    header.extend_from_slice(b"WAVE");
    header.extend_from_slice(if rf64 { b"ds64" } else { b"JUNK" });
    header.extend_from_slice(&DS64_PAYLOAD_BYTES.to_le_bytes());
    let (ds_riff, ds_data, ds_frames) = if rf64 { (riff_bytes, data_bytes, frame_count) } else { (0, 0, 0) };
    header.extend_from_slice(&ds_riff.to_le_bytes());
    header.extend_from_slice(&ds_data.to_le_bytes());
    header.extend_from_slice(&ds_frames.to_le_bytes());
    header.extend_from_slice(&0_u32.to_le_bytes()); // no table entries
    header.extend_from_slice(b"fmt ");
    header.extend_from_slice(&fmt_len.to_le_bytes());
    header.extend_from_slice(&(if extensible { FORMAT_EXTENSIBLE } else { FORMAT_PCM }).to_le_bytes());
    header.extend_from_slice(&channel_count.to_le_bytes());
    header.extend_from_slice(&format.sample_rate_hz.to_le_bytes());
    header.extend_from_slice(&(format.sample_rate_hz * u32::from(block_align)).to_le_bytes());
    header.extend_from_slice(&block_align.to_le_bytes());
    header.extend_from_slice(&(BYTES_PER_SAMPLE as u16 * 8).to_le_bytes());
    if extensible {
        header.extend_from_slice(&22_u16.to_le_bytes());
        header.extend_from_slice(&(BYTES_PER_SAMPLE as u16 * 8).to_le_bytes());
        header.extend_from_slice(&0_u32.to_le_bytes()); // channel mask: unspecified
        header.extend_from_slice(&PCM_SUBFORMAT_GUID);
    }
    header.extend_from_slice(b"data");
    header.extend_from_slice(&(if rf64 { u32::MAX } else { data_bytes as u32 }).to_le_bytes());
    header
}

/// Bytes before the first sample in our layout.
pub(crate) fn header_len(format: SourceFormat) -> u64 {
    let fmt_len = if format.channel_count > 2 { 40 } else { 16 };
    FMT_OFFSET + 8 + fmt_len + 8
}

/// One sample as 16-bit PCM: the inverse of reading `i16 / 32768`, so a 16-bit source
/// round-trips exactly; anything beyond full scale is clipped.
pub fn to_pcm16(sample: f32) -> i16 {
    (sample * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16
}

/// A recording being written. See the module comment for the guarantees.
pub struct WavWriter<F: RecordingFile> {
    file: F,
    format: SourceFormat,
    header_len: u64,
    /// Sample bytes that reached the file (a partial write counts what was written).
    data_bytes: u64,
    riff_limit_bytes: u64,
    /// The sizes in the header on disk, for `header_is_current`.
    data_bytes_in_header: u64,
    scratch: Vec<u8>,
}

impl<F: RecordingFile> WavWriter<F> {
    /// Writes the header of an empty recording and syncs it. `riff_limit_bytes` is
    /// `RIFF_LIMIT_BYTES` except in tests of the RF64 switch.
    pub fn create(mut file: F, format: SourceFormat, riff_limit_bytes: u64) -> io::Result<WavWriter<F>> {
        let header = header_bytes(format, 0, riff_limit_bytes);
        file.write_all(&header)?;
        file.sync_data()?;
        Ok(WavWriter {
            file,
            format,
            header_len: header.len() as u64,
            data_bytes: 0,
            riff_limit_bytes,
            data_bytes_in_header: 0,
            scratch: Vec::new(),
        })
    }

    /// Appends interleaved 16-bit samples (whole frames). On an error the bytes that did reach
    /// the file are still counted; call `salvage` before giving up.
    pub fn append(&mut self, samples: &[i16]) -> io::Result<()> {
        self.scratch.clear();
        self.scratch.reserve(samples.len() * BYTES_PER_SAMPLE);
        for sample in samples {
            self.scratch.extend_from_slice(&sample.to_le_bytes());
        }
        let mut written = 0;
        while written < self.scratch.len() {
            match self.file.write(self.scratch.get(written..).unwrap_or_default()) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "the file accepts no more bytes")),
                Ok(count) => {
                    written += count;
                    self.data_bytes += count as u64;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Makes the header describe every byte written so far, then syncs the data.
    pub fn checkpoint(&mut self) -> io::Result<()> {
        self.write_header()?;
        self.file.sync_data()
    }

    /// After a failed `append`: drops a partial frame at the end and makes the header match the
    /// bytes on disk, so the file is complete up to its last whole frame.
    pub fn salvage(&mut self) -> io::Result<()> {
        let block_align = self.block_align();
        let whole = self.data_bytes / block_align * block_align;
        if whole != self.data_bytes {
            self.file.set_len(self.header_len + whole)?;
            self.data_bytes = whole;
        }
        self.checkpoint()
    }

    /// Final header and sync. Returns the audio bytes written.
    pub fn finish(mut self) -> io::Result<u64> {
        self.checkpoint()?;
        Ok(self.data_bytes)
    }

    fn write_header(&mut self) -> io::Result<()> {
        let header = header_bytes(self.format, self.data_bytes, self.riff_limit_bytes);
        self.file.seek(SeekFrom::Start(0))?;
        self.file.write_all(&header)?;
        self.file.seek(SeekFrom::Start(self.header_len + self.data_bytes))?;
        self.data_bytes_in_header = self.data_bytes;
        Ok(())
    }

    fn block_align(&self) -> u64 {
        (self.format.channel_count.max(1) * BYTES_PER_SAMPLE) as u64
    }

    /// Whole frames in the file.
    pub fn frames(&self) -> u64 {
        self.data_bytes / self.block_align()
    }

    /// The file's length in bytes.
    pub fn file_bytes(&self) -> u64 {
        self.header_len + self.data_bytes
    }

    /// True when the file has become RF64.
    pub fn is_rf64(&self) -> bool {
        self.header_len - 8 + self.data_bytes_in_header > self.riff_limit_bytes
    }

    /// True when the header on disk describes everything written.
    pub fn header_is_current(&self) -> bool {
        self.data_bytes_in_header == self.data_bytes
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A file that accepts `capacity` bytes in all, then fails like a full disk: the last write
    /// that crosses the limit is partial, as on a real file system.
    pub(crate) struct FullDisk {
        pub(crate) file: File,
        pub(crate) capacity: u64,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let position = self.file.stream_position()?;
            let room = self.capacity.saturating_sub(position) as usize;
            if room == 0 && !buf.is_empty() {
                return Err(io::Error::from_raw_os_error(28)); // ENOSPC
            }
            self.file.write(&buf[..buf.len().min(room)])
        }

        fn flush(&mut self) -> io::Result<()> {
            self.file.flush()
        }
    }

    impl Seek for FullDisk {
        fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
            self.file.seek(position)
        }
    }

    impl RecordingFile for FullDisk {
        fn sync_data(&mut self) -> io::Result<()> {
            self.file.sync_data()
        }
        fn set_len(&mut self, len: u64) -> io::Result<()> {
            self.file.set_len(len)
        }
    }

    const STEREO_48K: SourceFormat = SourceFormat { sample_rate_hz: 48_000, channel_count: 2 };

    fn ramp(count: usize) -> Vec<i16> {
        (0..count).map(|n| (n % 60_000) as i16).collect()
    }

    #[test]
    fn a_checkpointed_file_reads_with_a_strict_reader() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        let mut writer = WavWriter::create(File::create(&path).unwrap(), STEREO_48K, RIFF_LIMIT_BYTES).unwrap();
        let samples = ramp(9_600);
        writer.append(&samples).unwrap();
        writer.checkpoint().unwrap();
        writer.append(&samples).unwrap(); // written, not yet in the header
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().channels, 2);
        assert_eq!(reader.spec().sample_rate, 48_000);
        let read: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
        assert_eq!(read, samples);
        writer.finish().unwrap();
        let read: Vec<i16> = hound::WavReader::open(&path).unwrap().into_samples().map(Result::unwrap).collect();
        assert_eq!(read.len(), 2 * samples.len());
    }

    #[test]
    fn more_than_two_channels_use_the_extensible_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("six.wav");
        let format = SourceFormat { sample_rate_hz: 16_000, channel_count: 6 };
        let mut writer = WavWriter::create(File::create(&path).unwrap(), format, RIFF_LIMIT_BYTES).unwrap();
        writer.append(&ramp(600)).unwrap();
        writer.finish().unwrap();
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().channels, 6);
        assert_eq!(reader.len(), 600);
    }

    #[test]
    fn a_full_disk_keeps_every_whole_frame_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("full.wav");
        let header = header_len(STEREO_48K);
        // Room for 1000 frames and 3 bytes: the last frame is cut mid-way.
        let file = FullDisk { file: File::create(&path).unwrap(), capacity: header + 4 * 1000 + 3 };
        let mut writer = WavWriter::create(file, STEREO_48K, RIFF_LIMIT_BYTES).unwrap();
        let samples = ramp(4_000);
        let error = writer.append(&samples).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(28));
        writer.salvage().unwrap();
        assert_eq!(writer.frames(), 1000);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), header + 4000);
        let read: Vec<i16> = hound::WavReader::open(&path).unwrap().into_samples().map(Result::unwrap).collect();
        assert_eq!(read, samples[..2000]);
    }

    #[test]
    fn pcm16_round_trips_16_bit_samples_and_clips_the_rest() {
        for value in [-32_768_i16, -1, 0, 1, 12_345, 32_767] {
            assert_eq!(to_pcm16(f32::from(value) / 32_768.0), value);
        }
        assert_eq!(to_pcm16(1.5), 32_767);
        assert_eq!(to_pcm16(-1.5), -32_768);
    }
}
