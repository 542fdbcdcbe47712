//! End-to-end checks of the CTranslate2 -> whisper.cpp import: a real faster-whisper model
//! (Whisper tiny.en) is converted to f16, q8_0, q5_0 and q5_1, each file is loaded by
//! whisper.cpp (through whisper-rs) and must transcribe the JFK clip correctly. The block
//! quantizers are also compared byte for byte with the ggml library whisper-rs links.
//!
//! The model directory comes from `VERBATIM_TEST_CT2_DIR`, default
//! `$HOME/.cache/verbatim/ct2-tiny.en`. Without it the model tests are skipped, except under
//! `CI=true`, where they fail.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use verbatim::models::ct2::{ImportSummary, Quantization, import_ct2_model};
use verbatim::models::quantize;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

/// The JFK clip as 16 kHz mono f32 in [-1, 1].
fn jfk_samples() -> Option<Vec<f32>> {
    let path = common::testdata("speech/jfk.wav")?;
    let reader = hound::WavReader::open(&path)
        .unwrap_or_else(|error| panic!("{} is unreadable: {error}", path.display()));
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (16_000, 1, 16)
    );
    let samples = reader
        .into_samples::<i16>()
        .map(|sample| f32::from(sample.unwrap_or_else(|e| panic!("bad sample: {e}"))) / 32768.0)
        .collect();
    Some(samples)
}

/// Lower case, punctuation removed, whitespace collapsed.
fn normalize(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Greedy English transcription with whisper.cpp; returns the text and the seconds it took
/// (model load included).
fn transcribe(model: &Path, samples: &[f32]) -> (String, f64) {
    let (text, _, seconds) = transcribe_in(model, samples, Some("en"));
    (text, seconds)
}

/// Greedy transcription in `language` (`None`: detect); returns the text, the language
/// whisper.cpp used and the seconds it took (model load included).
fn transcribe_in(model: &Path, samples: &[f32], language: Option<&str>) -> (String, String, f64) {
    let started = Instant::now();
    let context = WhisperContext::new_with_params(model, WhisperContextParameters::default())
        .unwrap_or_else(|error| panic!("whisper.cpp could not load {}: {error}", model.display()));
    let mut state = context
        .create_state()
        .unwrap_or_else(|error| panic!("create state: {error}"));
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    params.set_language(Some(language.unwrap_or("auto")));
    params.set_n_threads(2);
    params.set_print_special(false);
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_timestamps(false);
    state
        .full(params, samples)
        .unwrap_or_else(|error| panic!("transcription failed: {error}"));
    let text: String = state
        .as_iter()
        .map(|segment| {
            segment
                .to_str_lossy()
                .map(|s| s.into_owned())
                .unwrap_or_default()
        })
        .collect();
    let used_language = whisper_rs::get_lang_str(state.full_lang_id_from_state()).unwrap_or("?");
    (
        text,
        used_language.to_owned(),
        started.elapsed().as_secs_f64(),
    )
}

/// The 11 header words after the magic.
fn read_hparams(path: &Path) -> Vec<i32> {
    let bytes = fs::read(path).unwrap_or_default();
    bytes
        .get(..48)
        .unwrap_or_default()
        .chunks_exact(4)
        .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn converts_real_tiny_en_and_whisper_cpp_transcribes_it() {
    let Some(dir) = common::ct2_tiny_model() else { return };
    let Some(samples) = jfk_samples() else { return };
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let mut results: Vec<(Quantization, ImportSummary)> = Vec::new();

    for quantization in Quantization::ALL {
        let output = out.path().join(format!("ggml-tiny.en-{quantization}.bin"));
        let mut last_progress = -1.0;
        let started = Instant::now();
        let summary = import_ct2_model(&dir, &output, quantization, &mut |fraction| {
            assert!(fraction >= last_progress && fraction <= 1.0);
            last_progress = fraction;
        })
        .unwrap_or_else(|error| panic!("{quantization} import failed: {error}"));
        let convert_s = started.elapsed().as_secs_f64();
        assert_eq!(last_progress, 1.0);
        assert_eq!(summary.output, output);
        assert_eq!(
            summary.size_bytes,
            fs::metadata(&output).map(|m| m.len()).unwrap_or(0)
        );
        assert_eq!((summary.n_vocab, summary.n_text_layer), (51_864, 4));
        assert!(!summary.multilingual);
        assert_eq!(summary.quantization, quantization);
        // The source is float16 throughout, so f16 output keeps every number.
        assert_eq!(summary.lossless, quantization == Quantization::F16);
        let temporary_files = std::fs::read_dir(out.path())
            .unwrap()
            .filter(|entry| {
                let name = entry.as_ref().unwrap().file_name();
                name.to_string_lossy().ends_with(".partial")
            })
            .count();
        assert_eq!(temporary_files, 0, "no temporary file is left");

        let ftype = match quantization {
            Quantization::F16 => 1,
            Quantization::Q8_0 => 2007,
            Quantization::Q5_0 => 2008,
            Quantization::Q5_1 => 2009,
        };
        assert_eq!(
            read_hparams(&output),
            vec![
                0x6767_6d6c,
                51_864,
                1500,
                384,
                6,
                4,
                448,
                384,
                6,
                4,
                80,
                ftype
            ]
        );

        let (text, transcribe_s) = transcribe(&output, &samples);
        println!(
            "{quantization:>5}: {:>9} bytes ({:.1} MB), converted in {convert_s:.2} s, transcribed in {transcribe_s:.2} s: {}",
            summary.size_bytes,
            summary.size_bytes as f64 / 1e6,
            text.trim()
        );
        let normalized = normalize(&text);
        assert!(
            normalized.contains("ask not what your country can do for you"),
            "{quantization}: {normalized}"
        );
        assert!(
            normalized.contains("ask what you can do for your country"),
            "{quantization}: {normalized}"
        );
        results.push((quantization, summary));
    }

    let size = |q: Quantization| {
        results
            .iter()
            .find(|(quantization, _)| *quantization == q)
            .map(|(_, summary)| summary.size_bytes)
            .unwrap_or(0)
    };
    assert!(size(Quantization::Q8_0) < size(Quantization::F16));
    assert!(size(Quantization::Q5_0) < size(Quantization::Q8_0));
    assert!(size(Quantization::Q5_1) < size(Quantization::Q8_0));
    assert!(size(Quantization::Q5_0) < size(Quantization::Q5_1));
}

#[test]
fn vocabulary_and_mel_filters_land_in_the_file() {
    let Some(dir) = common::ct2_tiny_model() else { return };
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let output = out.path().join("ggml-tiny.en.bin");
    import_ct2_model(&dir, &output, Quantization::Q5_0, &mut |_| {})
        .unwrap_or_else(|error| panic!("import failed: {error}"));
    let bytes = fs::read(&output).unwrap_or_default();
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(-1)
    };
    assert_eq!((word(48), word(52)), (80, 201));
    // Band 0 of librosa's filters peaks at bin 1 with 0.024862595.
    let first_band_bin_1 = f32::from_bits(word(56 + 4) as u32);
    assert!((first_band_bin_1 - 0.024_862_595).abs() < 1e-8);

    let mut at = 56 + 80 * 201 * 4;
    // GPT-2's 50256 text tokens: whisper.cpp adds <|endoftext|> and the rest itself.
    assert_eq!(word(at), 50_256);
    at += 4;
    let mut tokens: Vec<&[u8]> = Vec::new();
    for _ in 0..50_256 {
        let len = word(at) as usize;
        tokens.push(bytes.get(at + 4..at + 4 + len).unwrap_or_default());
        at += 4 + len;
    }
    assert_eq!(tokens[0], b"!");
    assert_eq!(tokens[3399], b" Americans");
    assert_eq!(tokens[1499], b" country");
    assert_eq!(tokens[198], b"\n");
    assert!(tokens.iter().all(|token| !token.is_empty()));
}

#[test]
fn truncated_or_misplaced_models_fail_with_one_line_errors() {
    let Some(dir) = common::ct2_tiny_model() else { return };
    let model = fs::read(dir.join("model.bin")).unwrap_or_default();
    let broken = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    for file in ["config.json", "tokenizer.json"] {
        fs::copy(dir.join(file), broken.path().join(file)).unwrap_or_else(|e| panic!("{e}"));
    }
    let output = broken.path().join("out").join("ggml.bin");

    for cut in [2, 100, model.len() / 2, model.len() - 1] {
        fs::write(broken.path().join("model.bin"), &model[..cut]).unwrap_or_else(|e| panic!("{e}"));
        let error = import_ct2_model(broken.path(), &output, Quantization::Q8_0, &mut |_| {});
        let message = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("is truncated"), "cut at {cut}: {message}");
        assert!(!message.contains('\n'));
        assert!(!output.exists());
    }

    // Pointing at the parent folder instead of the model folder.
    let parent = dir.parent().unwrap_or(Path::new("/"));
    let error = import_ct2_model(parent, &output, Quantization::F16, &mut |_| {});
    let message = error.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("model.bin missing; point to the folder"),
        "{message}"
    );
}

/// A multilingual model (e.g. faster-whisper base) must detect German and transcribe it.
/// Opt in: `VERBATIM_TEST_CT2_MULTILINGUAL_DIR=... cargo test --release --test ct2_import -- --ignored`.
#[test]
#[ignore = "needs a multilingual CTranslate2 Whisper model in VERBATIM_TEST_CT2_MULTILINGUAL_DIR"]
fn multilingual_model_detects_language_and_transcribes() {
    let dir = std::env::var_os("VERBATIM_TEST_CT2_MULTILINGUAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("set VERBATIM_TEST_CT2_MULTILINGUAL_DIR to a multilingual faster-whisper model folder"));
    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let output = out.path().join("ggml-multilingual-q8_0.bin");
    let summary = import_ct2_model(&dir, &output, Quantization::Q8_0, &mut |_| {})
        .unwrap_or_else(|error| panic!("import failed: {error}"));
    assert!(summary.multilingual);
    println!("{summary:?}");

    let (Some(german_wav), Some(jfk)) = (common::testdata("multilingual/test_de.wav"), jfk_samples()) else {
        return;
    };
    let reader = hound::WavReader::open(&german_wav).unwrap_or_else(|e| panic!("{}: {e}", german_wav.display()));
    let german: Vec<f32> = reader
        .into_samples::<i16>()
        .map(|sample| f32::from(sample.unwrap_or_default()) / 32768.0)
        .collect();
    let (text, language, seconds) = transcribe_in(&output, &german, None);
    println!("de ({language}, {seconds:.2} s): {}", text.trim());
    assert_eq!(language, "de");
    assert!(normalize(&text).contains("werbung"), "{text}");

    let (text, _, seconds) = transcribe_in(&output, &jfk, Some("en"));
    println!("en ({seconds:.2} s): {}", text.trim());
    assert!(
        normalize(&text).contains("ask what you can do for your country"),
        "{text}"
    );
}

/// Deterministic weight-like values with a few outliers and exact zeros.
fn weight_like(len: usize) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            match i % 211 {
                0 => (unit * 3.0) as f32,
                1 => 0.0,
                _ => (unit * 0.04) as f32,
            }
        })
        .collect()
}

#[test]
fn quantizers_match_linked_ggml_byte_for_byte() {
    let row_len = 384usize;
    let rows = 64usize;
    let mut values = weight_like(row_len * rows);
    // A block of identical values, a block of zeros and a block with a tie for the maximum.
    values[..32].fill(0.125);
    values[32..64].fill(0.0);
    values[64] = -1.0;
    values[65] = 1.0;

    let cases: [(whisper_rs_sys::ggml_type, fn(&[f32], &mut Vec<u8>), usize); 3] = [
        (
            whisper_rs_sys::ggml_type_GGML_TYPE_Q8_0,
            quantize::quantize_row_q8_0,
            quantize::Q8_0_BLOCK_BYTES,
        ),
        (
            whisper_rs_sys::ggml_type_GGML_TYPE_Q5_0,
            quantize::quantize_row_q5_0,
            quantize::Q5_0_BLOCK_BYTES,
        ),
        (
            whisper_rs_sys::ggml_type_GGML_TYPE_Q5_1,
            quantize::quantize_row_q5_1,
            quantize::Q5_1_BLOCK_BYTES,
        ),
    ];
    for (ggml_type, ours, block_bytes) in cases {
        let mut expected = vec![0u8; rows * row_len / 32 * block_bytes];
        // SAFETY: `values` holds rows * row_len floats and `expected` the exact output size of
        // rows * row_len / 32 blocks; no importance matrix is passed (allowed for these types).
        let written = unsafe {
            whisper_rs_sys::ggml_quantize_chunk(
                ggml_type,
                values.as_ptr(),
                expected.as_mut_ptr().cast(),
                0,
                rows as i64,
                row_len as i64,
                std::ptr::null(),
            )
        };
        assert_eq!(written, expected.len());
        let mut actual = Vec::new();
        for row in values.chunks(row_len) {
            ours(row, &mut actual);
        }
        assert_eq!(actual.len(), expected.len());
        let first_difference = actual.iter().zip(&expected).position(|(a, b)| a != b);
        assert_eq!(first_difference, None, "ggml type {ggml_type}");
    }
}

#[test]
fn f16_conversion_matches_linked_ggml() {
    let mut values = weight_like(100_000);
    values.extend([
        65504.0,
        65520.0,
        1e-8,
        -6.1e-5,
        5.96e-8,
        2.98e-8,
        1.0 + 2f32.powi(-11),
    ]);
    for value in values {
        // SAFETY: a pure conversion function without pointers.
        let expected = unsafe { whisper_rs_sys::ggml_fp32_to_fp16(value) };
        assert_eq!(quantize::f32_to_f16_bits(value), expected, "{value:e}");
    }
}
