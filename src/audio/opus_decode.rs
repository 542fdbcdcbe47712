//! Opus packets to PCM through libopus, shared by our Ogg Opus reader and by containers that
//! symphonia demuxes but cannot decode (Opus in WebM/Matroska and MP4, as browsers record).
//! Also the identification header (`OpusHead`, RFC 7845 §5.1) both read and write.

use std::fmt;

/// Opus always runs at 48 kHz; granule positions and pre-skip count 48 kHz samples.
pub(crate) const OPUS_RATE_HZ: u32 = 48_000;
/// The longest Opus packet is 120 ms: 5 760 samples per channel at 48 kHz.
const MAX_PACKET_SAMPLES: usize = 5_760;

/// The `OpusHead` identification header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpusHead {
    pub channel_count: u8,
    /// Samples (48 kHz) to discard from the start of the decoded output.
    pub pre_skip: u16,
    /// The sample rate of the original input; informational only.
    pub input_sample_rate_hz: u32,
    /// Gain to apply, in dB as Q7.8 fixed point.
    pub output_gain_q8: i16,
    pub mapping_family: u8,
    pub stream_count: u8,
    pub coupled_count: u8,
    /// Decoded channel index for each output channel (255 = silence).
    pub mapping: Vec<u8>,
}

impl OpusHead {
    /// Parses an `OpusHead` packet.
    pub(crate) fn parse(packet: &[u8]) -> Result<OpusHead, String> {
        let rest = packet
            .strip_prefix(b"OpusHead")
            .ok_or("the Opus stream has no OpusHead header")?;
        let byte = |index: usize| {
            rest.get(index)
                .copied()
                .ok_or("the OpusHead header is cut short")
        };
        let version = byte(0)?;
        if version >> 4 != 0 {
            return Err(format!("Opus header version {version} is not supported"));
        }
        let channel_count = byte(1)?;
        if channel_count == 0 {
            return Err("the OpusHead header gives 0 channels".to_string());
        }
        let pre_skip = u16::from_le_bytes([byte(2)?, byte(3)?]);
        let input_sample_rate_hz = u32::from_le_bytes([byte(4)?, byte(5)?, byte(6)?, byte(7)?]);
        let output_gain_q8 = i16::from_le_bytes([byte(8)?, byte(9)?]);
        let mapping_family = byte(10)?;
        let (stream_count, coupled_count, mapping) = if mapping_family == 0 {
            if channel_count > 2 {
                return Err(format!(
                    "{channel_count} channels need a channel mapping table"
                ));
            }
            (1, channel_count - 1, (0..channel_count).collect())
        } else {
            let stream_count = byte(11)?;
            let coupled_count = byte(12)?;
            let mapping: Vec<u8> = (0..usize::from(channel_count))
                .map(|channel| byte(13 + channel))
                .collect::<Result<_, _>>()?;
            if stream_count == 0 || coupled_count > stream_count {
                return Err(format!(
                    "invalid Opus stream counts ({stream_count} streams, {coupled_count} coupled)"
                ));
            }
            let decoded_channels = u16::from(stream_count) + u16::from(coupled_count);
            if mapping
                .iter()
                .any(|&index| index != 255 && u16::from(index) >= decoded_channels)
            {
                return Err("the Opus channel mapping points past the decoded channels".to_string());
            }
            (stream_count, coupled_count, mapping)
        };
        Ok(OpusHead {
            channel_count,
            pre_skip,
            input_sample_rate_hz,
            output_gain_q8,
            mapping_family,
            stream_count,
            coupled_count,
            mapping,
        })
    }

    /// Parses the header as symphonia hands it over: a plain `OpusHead` from Matroska/WebM, or
    /// from MP4 "OpusHead" followed by the `dOps` box — the same fields, but version 0 and
    /// big-endian.
    pub(crate) fn parse_container_header(extra_data: &[u8]) -> Result<OpusHead, String> {
        let mut bytes = extra_data.to_vec();
        if bytes.get(8) == Some(&0) && bytes.len() >= 19 {
            bytes[8] = 1;
            bytes[10..12].reverse();
            bytes[12..16].reverse();
            bytes[16..18].reverse();
        }
        OpusHead::parse(&bytes)
    }

    /// The header for a mono or stereo stream (channel mapping family 0).
    pub(crate) fn simple(channel_count: u8, pre_skip: u16, input_sample_rate_hz: u32) -> OpusHead {
        OpusHead {
            channel_count,
            pre_skip,
            input_sample_rate_hz,
            output_gain_q8: 0,
            mapping_family: 0,
            stream_count: 1,
            coupled_count: channel_count.saturating_sub(1),
            mapping: (0..channel_count).collect(),
        }
    }

    /// The header as bytes (RFC 7845 §5.1).
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = b"OpusHead".to_vec();
        bytes.push(1);
        bytes.push(self.channel_count);
        bytes.extend_from_slice(&self.pre_skip.to_le_bytes());
        bytes.extend_from_slice(&self.input_sample_rate_hz.to_le_bytes());
        bytes.extend_from_slice(&self.output_gain_q8.to_le_bytes());
        bytes.push(self.mapping_family);
        if self.mapping_family != 0 {
            bytes.push(self.stream_count);
            bytes.push(self.coupled_count);
            bytes.extend_from_slice(&self.mapping);
        }
        bytes
    }
}

/// Why libopus refused a packet or a header.
#[derive(Debug)]
pub(crate) struct OpusDecodeError(pub String);

impl fmt::Display for OpusDecodeError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Decodes Opus packets to planar 48 kHz frames, with pre-skip and output gain applied.
pub(crate) struct OpusPacketDecoder {
    decoder: opus::MSDecoder,
    channel_count: usize,
    pre_skip_left: usize,
    gain: f32,
    interleaved: Vec<f32>,
}

impl OpusPacketDecoder {
    pub(crate) fn new(head: &OpusHead) -> Result<OpusPacketDecoder, OpusDecodeError> {
        let decoder = opus::MSDecoder::new(
            OPUS_RATE_HZ,
            head.stream_count,
            head.coupled_count,
            &head.mapping,
        )
        .map_err(|error| OpusDecodeError(format!("libopus refused the stream header: {error}")))?;
        let channel_count = usize::from(head.channel_count);
        Ok(OpusPacketDecoder {
            decoder,
            channel_count,
            pre_skip_left: usize::from(head.pre_skip),
            gain: 10_f32.powf(f32::from(head.output_gain_q8) / (20.0 * 256.0)),
            interleaved: vec![0.0; MAX_PACKET_SAMPLES * channel_count],
        })
    }

    /// Decodes one packet. Returns planar frames (possibly empty while pre-skip is consumed).
    pub(crate) fn decode(&mut self, packet: &[u8]) -> Result<Vec<Vec<f32>>, OpusDecodeError> {
        if packet.is_empty() {
            return Ok(vec![Vec::new(); self.channel_count]);
        }
        let frame_count = self
            .decoder
            .decode_float(packet, &mut self.interleaved, false)
            .map_err(|error| {
                OpusDecodeError(format!("libopus could not decode a packet: {error}"))
            })?;
        let skipped = self.pre_skip_left.min(frame_count);
        self.pre_skip_left -= skipped;
        let kept = frame_count - skipped;
        let mut frames = vec![Vec::with_capacity(kept); self.channel_count];
        let decoded = self
            .interleaved
            .get(skipped * self.channel_count..frame_count * self.channel_count);
        for frame in decoded.unwrap_or_default().chunks_exact(self.channel_count) {
            for (channel, sample) in frames.iter_mut().zip(frame) {
                channel.push(sample * self.gain);
            }
        }
        Ok(frames)
    }

    /// Forgets decoder state (after a seek); pre-skip is not applied again.
    pub(crate) fn reset(&mut self, head: &OpusHead) -> Result<(), OpusDecodeError> {
        let mut fresh = OpusPacketDecoder::new(head)?;
        fresh.pre_skip_left = 0;
        *self = fresh;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_round_trips_and_rejects_nonsense() {
        let head = OpusHead::simple(1, 312, 16_000);
        assert_eq!(OpusHead::parse(&head.to_bytes()).unwrap(), head);
        assert!(OpusHead::parse(b"OpusHead").is_err());
        assert!(OpusHead::parse(b"OpusHead\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00").is_err());
        let mut dops = b"OpusHead".to_vec();
        dops.extend_from_slice(&[0, 1, 0x01, 0x38, 0, 0, 0x3E, 0x80, 0, 0, 0]);
        let head = OpusHead::parse_container_header(&dops).unwrap();
        assert_eq!((head.pre_skip, head.input_sample_rate_hz), (312, 16_000));
        let mut surround = OpusHead::simple(2, 0, 48_000);
        surround.mapping_family = 1;
        surround.mapping = vec![0, 5];
        assert!(
            OpusHead::parse(&surround.to_bytes()).is_err(),
            "mapping past decoded channels"
        );
    }
}
