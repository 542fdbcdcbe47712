//! The fakes' own upload sniffer (`verbatim::dev::fakes::sniff_upload`) on the shared
//! recordings and edge files: each is told as what it really is, so the fakes judge the
//! clients' uploads by the files' content, never by the client's own reading of them.

mod common;

use verbatim::dev::fakes::{UploadFormat, sniff_upload};

#[test]
fn every_shared_recording_and_edge_file_is_told_as_what_it_is() {
    use UploadFormat::*;
    let expected = [
        ("speech/jfk.wav", PcmWav),
        ("speech/jfk.mp3", Mp3),
        ("speech/jfk.flac", Flac),
        ("speech/two_cities.wav", PcmWav),
        ("stereo/stereo_diarization.wav", PcmWav),
        ("wav-edge/pcmwaveformat-16bit-44100Hz-mono.wav", PcmWav),
        (
            "wav-edge/pcmwaveformat-24bit-4byte-48kHz-stereo.wav",
            PcmWav,
        ),
        ("wav-edge/pcmwaveformat-8bit-44100Hz-mono.wav", OtherWav),
        ("wav-edge/waveformatex-16bit-44100Hz-mono-extra.wav", PcmWav),
        ("wav-edge/waveformatex-8bit-11025Hz-mono.wav", OtherWav),
        ("wav-edge/waveformatex-ieeefloat-44100Hz-mono.wav", OtherWav),
        (
            "wav-edge/waveformatextensible-24bit-192kHz-mono.wav",
            PcmWav,
        ),
        (
            "wav-edge/waveformatextensible-32bit-48kHz-stereo.wav",
            PcmWav,
        ),
        (
            "wav-edge/waveformatextensible-ieeefloat-44100Hz-mono.wav",
            OtherWav,
        ),
        ("tags-edge/24bit_pcm.wav", PcmWav),
        ("tags-edge/32bit_float.wav", OtherWav),
        ("tags-edge/8bit_pcm.wav", OtherWav),
        ("tags-edge/adpcm_no_byterate.wav", OtherWav),
        ("tags-edge/gsm_6_10.wav", OtherWav),
        ("tags-edge/mp3_audio.wav", OtherWav),
        ("tags-edge/id3v22-test.mp3", Mp3),
        ("tags-edge/id3v24-long-title.mp3", Mp3),
        ("tags-edge/mpeg25_id3v2.mp3", Mp3),
        ("tags-edge/silence-44-s-v1.mp3", Mp3),
        ("tags-edge/empty_file.mp3", Unknown),
        ("tags-edge/empty_file.wav", Unknown),
        ("tags-edge/invalid_file.wav", Unknown),
        // A RIFF/WAVE header and nothing more: a WAV without a `fmt ` chunk.
        ("tags-edge/magic_bytes_only_wav.x", OtherWav),
    ];
    let mut wrong = Vec::new();
    for (file, format) in expected {
        let Some(path) = common::testdata(file) else {
            return;
        };
        let data = std::fs::read(&path).unwrap();
        let told = sniff_upload(&data);
        if told != format {
            wrong.push(format!("{file}: {told:?}, not {format:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
