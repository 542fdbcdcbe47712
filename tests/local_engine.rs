//! The local engine end to end: real recordings through whisper.cpp with the installed
//! tiny.en, checked by word error rate; stereo speakers; silence; cancellation; streaming.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use verbatim::engine::local::{LocalEngine, LocalEngineConfig};
use verbatim::engine::{EngineError, SpeakerMode, TranscribeOptions, run_engine};
use verbatim::events::{EngineEvent, EventSink};
use verbatim::transcript::Transcript;
use verbatim::wer::word_error_rate;

fn engine(model: &Path) -> LocalEngine {
    let config = LocalEngineConfig { model_path: model.to_path_buf(), ..LocalEngineConfig::default() };
    LocalEngine::with_worker(config, common::verbatim_exe())
}

/// Runs the engine on a file; returns all events in order and the outcome.
fn transcribe(engine: &LocalEngine, path: &Path, options: TranscribeOptions) -> (Vec<EngineEvent>, Result<(), EngineError>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (sink, mut receiver) = EventSink::channel();
        let cancel = CancellationToken::new();
        let result = run_engine(engine, path, &options, &sink, &cancel).await.map(|_| ());
        drop(sink);
        let mut events = Vec::new();
        while let Some(event) = receiver.recv().await {
            events.push(event);
        }
        (events, result)
    })
}

fn transcript_of(events: &[EngineEvent]) -> Transcript {
    let mut transcript = Transcript::new();
    events.iter().for_each(|event| transcript.apply(event));
    transcript
}

fn english() -> TranscribeOptions {
    TranscribeOptions { language: Some("en".into()), ..TranscribeOptions::default() }
}

#[test]
fn real_recordings_are_transcribed_within_ten_percent_word_error_rate() {
    // Both tiny.en files setup installs: f16 and the q8_0 default made from it.
    for name in [verbatim::models::DEFAULT_MODEL, verbatim::models::QUANTIZED_DEFAULT_MODEL] {
        let Some(model) = common::model(name) else { return };
        transcribes_real_recordings_within_ten_percent(&engine(&model), name);
    }
}

fn transcribes_real_recordings_within_ten_percent(engine: &LocalEngine, name: &str) {
    for (file, reference) in [
        ("speech/jfk.wav", common::JFK_REFERENCE),
        ("speech/jfk.mp3", common::JFK_REFERENCE),
        ("speech/jfk.flac", common::JFK_REFERENCE),
        ("speech/two_cities.wav", common::TWO_CITIES_REFERENCE),
    ] {
        let Some(path) = common::testdata(file) else { return };
        let started = Instant::now();
        let (events, result) = transcribe(engine, &path, english());
        result.unwrap_or_else(|error| panic!("{name}, {file}: {error}"));
        let transcript = transcript_of(&events);
        let wer = word_error_rate(reference, &transcript.plain_text());
        println!("{name}, {file}: WER {:.1} % in {:.2} s: {}", wer * 100.0, started.elapsed().as_secs_f64(), transcript.plain_text());
        assert!(wer <= 0.10, "{name}, {file}: WER {:.1} % > 10 %: {}", wer * 100.0, transcript.plain_text());
        // Segments are timed, ordered, and carry word timings inside their span.
        for pair in transcript.segments.windows(2) {
            assert!(pair[0].start_s <= pair[1].start_s, "segments out of order");
        }
        assert_word_times_are_sane(&transcript, file);
        for segment in &transcript.segments {
            assert!(segment.end_s >= segment.start_s);
            assert!(!segment.words.is_empty(), "no word timings in {segment:?}");
            for word in &segment.words {
                assert!(word.start_s >= segment.start_s - 0.5 && word.end_s <= segment.end_s + 0.5, "{word:?} outside {segment:?}");
                assert!(word.probability.is_some_and(|p| (0.0..=1.0).contains(&p)));
            }
        }
        assert!(matches!(events.last(), Some(EngineEvent::Done { .. })), "stream must end with Done");
    }
}

#[test]
fn segments_stream_before_the_end() {
    let Some(model) = common::model("tiny.en") else { return };
    let Some(path) = common::testdata("speech/two_cities.wav") else { return };
    let (events, result) = transcribe(&engine(&model), &path, english());
    result.unwrap();
    // Some segment arrives before whisper.cpp reports the last of its progress.
    let first_segment = events.iter().position(|e| matches!(e, EngineEvent::Segment(_))).expect("a segment");
    let unfinished_progress_after = events[first_segment..].iter().any(|e| e.progress_fraction().is_some_and(|f| f < 0.99));
    assert!(unfinished_progress_after, "segments only arrived at the end");
    assert!(events.iter().filter(|e| matches!(e, EngineEvent::Segment(_))).count() >= 3);
}

#[test]
fn stereo_recording_gets_one_speaker_per_channel() {
    let Some(model) = common::model("tiny.en") else { return };
    let Some(path) = common::testdata("stereo/stereo_diarization.wav") else { return };
    let options = TranscribeOptions { speakers: SpeakerMode::Stereo, ..english() };
    let (events, result) = transcribe(&engine(&model), &path, options);
    result.unwrap();
    let transcript = transcript_of(&events);
    let text_of = |speaker: &str| {
        transcript
            .segments
            .iter()
            .filter(|s| s.speaker.as_deref() == Some(speaker))
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let left = text_of("left");
    let right = text_of("right");
    println!("left: {left}\nright: {right}");
    let left_reference = "He began a confused complaint against the wizard, who had vanished behind the curtain on the left.";
    let right_reference = "The horizon seems extremely distant.";
    assert!(word_error_rate(left_reference, &left) <= 0.25, "left: {left}");
    assert!(word_error_rate(right_reference, &right) <= 0.25, "right: {right}");
    assert_eq!(transcript.speakers.len(), 2);
}

/// Writes 16 kHz mono samples as a WAV file.
fn write_wav(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for &sample in samples {
        writer.write_sample((sample.clamp(-1.0, 1.0) * 32767.0) as i16).unwrap();
    }
    writer.finalize().unwrap();
}

#[test]
fn silence_and_music_produce_no_invented_text() {
    let Some(model) = common::model("tiny.en") else { return };
    let engine = engine(&model);
    let dir = tempfile::tempdir().unwrap();

    let silence = dir.path().join("silence.wav");
    write_wav(&silence, &vec![0.0; 16_000 * 40]);
    let (events, result) = transcribe(&engine, &silence, english());
    result.unwrap();
    assert_eq!(transcript_of(&events).plain_text(), "", "text invented over silence");

    // Room tone: faint noise, no speech.
    let mut seed = 12345u32;
    let noise: Vec<f32> = (0..16_000 * 30)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 * 0.004 - 0.002
        })
        .collect();
    let room_tone = dir.path().join("room_tone.wav");
    write_wav(&room_tone, &noise);
    let (events, result) = transcribe(&engine, &room_tone, english());
    result.unwrap();
    assert_eq!(transcript_of(&events).plain_text(), "", "text invented over room tone");

    // Music: a melody of chords with an envelope, 40 s. Whatever the model makes of it, it
    // must not loop: no phrase repeated in a row, no segment repeated three times.
    let notes_hz = [261.6, 329.6, 392.0, 440.0, 349.2, 293.7, 246.9, 523.3];
    let music: Vec<f32> = (0..16_000 * 40)
        .map(|i| {
            let t = i as f32 / 16_000.0;
            let note = notes_hz[(t * 2.0) as usize % notes_hz.len()];
            let envelope = (-(t * 2.0).fract() * 3.0).exp();
            0.2 * envelope * [1.0, 1.25, 1.5].iter().map(|ratio| (t * note * ratio * std::f32::consts::TAU).sin()).sum::<f32>() / 3.0
        })
        .collect();
    let music_path = dir.path().join("music.wav");
    write_wav(&music_path, &music);
    let (events, result) = transcribe(&engine, &music_path, english());
    result.unwrap();
    let transcript = transcript_of(&events);
    println!("music gave: {:?}", transcript.plain_text());
    let texts: Vec<String> = transcript.segments.iter().map(|s| verbatim::wer::normalize(&s.text)).collect();
    for window in texts.windows(3) {
        assert!(!(window[0] == window[1] && window[1] == window[2]), "repetition loop over music: {texts:?}");
    }
    let text = transcript.plain_text();
    let words: Vec<&str> = text.split_whitespace().collect();
    assert!(words.len() < 40, "a flood of text over 40 s of music: {}", transcript.plain_text());
}

#[test]
fn cancel_stops_a_long_file_within_a_second_and_keeps_segments() {
    let Some(model) = common::model("tiny.en") else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(long) = common::long_recording(dir.path()) else { return };
    let engine = engine(&model);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let (sink, mut receiver) = EventSink::channel();
        let cancel = CancellationToken::new();
        let options = english();
        let mut job = Box::pin(run_engine(&engine, &long, &options, &sink, &cancel));
        let mut segments = 0;
        // Wait for the first segment, then cancel.
        loop {
            tokio::select! {
                result = &mut job => panic!("finished before cancel: {result:?}"),
                Some(event) = receiver.recv() => {
                    if matches!(event, EngineEvent::Segment(_)) { segments += 1; break; }
                }
            }
        }
        let cancelled_at = Instant::now();
        cancel.cancel();
        let result = tokio::time::timeout(Duration::from_secs(5), &mut job).await.expect("engine did not stop");
        let stop_s = cancelled_at.elapsed().as_secs_f64();
        println!("stopped {stop_s:.3} s after cancel");
        assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
        assert!(stop_s < 1.0, "took {stop_s:.3} s to stop");
        drop(job);
        drop(sink);
        while let Some(event) = receiver.recv().await {
            if matches!(event, EngineEvent::Segment(_)) {
                segments += 1;
            }
        }
        assert!(segments >= 1);
    });
    // The engine is still usable after a cancel (the model stays loaded, the state is fresh).
    let Some(jfk) = common::testdata("speech/jfk.wav") else { return };
    let (events, result) = transcribe(&engine, &jfk, english());
    result.unwrap();
    assert!(word_error_rate(common::JFK_REFERENCE, &transcript_of(&events).plain_text()) <= 0.10);
}

#[test]
fn wrong_model_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("ggml-bogus.bin");
    std::fs::write(&bogus, b"this is not a model at all, just some bytes to fill the header").unwrap();
    let Some(jfk) = common::testdata("speech/jfk.wav") else { return };
    let (_, result) = transcribe(&engine(&bogus), &jfk, english());
    let message = result.unwrap_err().to_string();
    assert!(message.contains("not a whisper.cpp ggml model"), "{message}");
    assert!(!message.contains('\n'));
}

#[test]
fn languages_are_detected_and_translated_with_a_multilingual_model() {
    let Some(model) = common::model("base") else { return };
    let Some(index) = common::testdata("multilingual/test_data.json") else { return };
    let index: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&index).unwrap()).unwrap();
    let engine = engine(&model);
    let auto = TranscribeOptions { language: None, ..TranscribeOptions::default() };
    let mut checked = 0;
    for case in index["tests"]["language_tests"].as_array().unwrap() {
        let file = case["audio_file"].as_str().unwrap();
        if file.contains("_norm") {
            continue; // numbers and symbols: a test of text normalisation, not of language
        }
        let language = case["language"].as_str().unwrap();
        let reference = case["transcript"].as_str().unwrap();
        let Some(path) = common::testdata(&format!("multilingual/{file}")) else { return };
        let (events, result) = transcribe(&engine, &path, auto.clone());
        result.unwrap_or_else(|error| panic!("{file}: {error}"));
        let transcript = transcript_of(&events);
        let wer = word_error_rate(reference, &transcript.plain_text());
        println!("{file}: detected {:?}, WER {:.0} %: {}", transcript.language, wer * 100.0, transcript.plain_text());
        assert_eq!(transcript.language.as_deref(), Some(language), "{file}: wrong language");
        // base is a small model: its non-English text is rough, but it must be that language's
        // words, not noise (a wrong language or invented text scores near or above 100 %).
        let limit = if language == "en" { 0.3 } else { 0.8 };
        assert!(wer <= limit, "{file}: WER {:.0} %: {}", wer * 100.0, transcript.plain_text());
        checked += 1;
    }
    assert!(checked >= 6);

    // Translation: German speech comes out in English.
    let Some(german) = common::testdata("multilingual/test_de.wav") else { return };
    let translate = TranscribeOptions { language: Some("de".into()), translate: true, ..TranscribeOptions::default() };
    let (events, result) = transcribe(&engine, &german, translate);
    result.unwrap();
    let english = transcript_of(&events).plain_text();
    let (events, _) = transcribe(&engine, &german, TranscribeOptions { language: Some("de".into()), ..TranscribeOptions::default() });
    let german_text = transcript_of(&events).plain_text();
    println!("de: {german_text}\nde → en: {english}");
    assert!(!english.is_empty());
    assert!(word_error_rate(&german_text, &english) > 0.5, "translation looks like the German text: {english}");
}

#[test]
fn the_prompt_spells_a_word_as_given() {
    // tiny.en writes "direct to heaven"; Dickens (and the reference) write "Heaven".
    let Some(model) = common::model("tiny.en") else { return };
    let Some(two_cities) = common::testdata("speech/two_cities.wav") else { return };
    let engine = engine(&model);
    let heaven = |prompt: Option<&str>| {
        let options = TranscribeOptions { prompt: prompt.map(str::to_string), ..english() };
        let (events, result) = transcribe(&engine, &two_cities, options);
        result.unwrap();
        let text = transcript_of(&events).plain_text();
        let spelled = text.split_whitespace().find(|word| word.to_lowercase().starts_with("heaven")).map(str::to_string);
        spelled.unwrap_or_else(|| panic!("no heaven in {text}"))
    };
    assert!(heaven(None).starts_with("heaven"), "without a prompt the word is written in lower case");
    assert!(heaven(Some("Light, Darkness, Heaven.")).starts_with("Heaven"), "the prompt's spelling is used");
}

/// A stand-in for `verbatim worker` that takes the job, then misbehaves as `behaviour` (shell)
/// says; it writes its pid to `pid` first.
#[cfg(unix)]
fn misbehaving_worker(dir: &Path, name: &str, behaviour: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join(name);
    let pid = dir.join(format!("{name}.pid"));
    std::fs::write(&script, format!("#!/bin/sh\necho $$ > '{}'\nread job\n{behaviour}\n", pid.display())).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[cfg(unix)]
#[test]
fn a_worker_sending_garbage_or_an_endless_line_is_stopped_with_an_error() {
    let Some(jfk) = common::testdata("speech/jfk.wav") else { return };
    let dir = tempfile::tempdir().unwrap();
    // Only the header is checked before the worker starts; this one never loads it.
    let model = dir.path().join("model.bin");
    let mut header = b"lmgg".to_vec();
    header.resize(48, 0);
    std::fs::write(&model, header).unwrap();
    let cases = [
        ("garbage", "echo 'this is not a message'\nexec sleep 60", "the local engine sent a line that is not one of its messages and was stopped"),
        ("endless", "head -c 67108864 /dev/zero\nexec sleep 60", "the local engine sent a line longer than 16 MiB and was stopped"),
    ];
    for (name, behaviour, expected) in cases {
        let worker = misbehaving_worker(dir.path(), name, behaviour);
        let config = LocalEngineConfig { model_path: model.clone(), ..LocalEngineConfig::default() };
        let engine = LocalEngine::with_worker(config, worker);
        let started = Instant::now();
        let (sender, ended) = std::sync::mpsc::channel();
        let audio = jfk.clone();
        std::thread::spawn(move || {
            let _ = sender.send(transcribe(&engine, &audio, english()));
        });
        let (_, result) = ended.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("{name}: the parent hangs"));
        let error = result.expect_err(name).to_string();
        assert!(error.starts_with(expected), "{name}: {error}");
        assert!(started.elapsed() < Duration::from_secs(20));
        let pid = std::fs::read_to_string(dir.path().join(format!("{name}.pid"))).unwrap();
        #[cfg(target_os = "linux")]
        assert!(!Path::new(&format!("/proc/{}", pid.trim())).exists(), "{name}: the worker was left running");
        let _ = pid;
    }
}

/// Word times every engine run must keep: in order, inside their segment, never zero-length,
/// never overlapping.
fn assert_word_times_are_sane(transcript: &Transcript, what: &str) {
    let mut previous_end_s = f64::NEG_INFINITY;
    for segment in &transcript.segments {
        if segment.speaker.is_none() {
            assert!(segment.start_s >= previous_end_s - 1e-6, "{what}: segments overlap at {segment:?}");
        }
        let mut word_end_s = f64::NEG_INFINITY;
        for word in &segment.words {
            assert!(word.end_s > word.start_s, "{what}: zero-length word {word:?}");
            assert!(word.start_s >= word_end_s - 1e-9, "{what}: overlapping words at {word:?}");
            assert!(word.start_s >= segment.start_s - 1e-9 && word.end_s <= segment.end_s + 1e-9, "{what}: {word:?} outside {segment:?}");
            word_end_s = word.end_s;
        }
        if segment.speaker.is_none() {
            previous_end_s = segment.end_s;
        }
    }
}

/// English clips, then German ones, as one file in `dir`.
fn code_switched_recording(dir: &Path) -> Option<std::path::PathBuf> {
    concatenated_clips(dir, "english_then_german.wav", &["test_en.wav", "test_en_norm.wav", "test_de.wav", "test_de_norm.wav"])
}

/// The shared multilingual `clips`, each followed by half a second of silence, as `name` in `dir`.
fn concatenated_clips(dir: &Path, name: &str, clips: &[&str]) -> Option<std::path::PathBuf> {
    let mut samples: Vec<i16> = Vec::new();
    for clip in clips {
        let path = common::testdata(&format!("multilingual/{clip}"))?;
        let mut reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().sample_rate, 16_000);
        samples.extend(reader.samples::<i16>().map(Result::unwrap));
        samples.extend(std::iter::repeat_n(0i16, 8_000));
    }
    let out = dir.join(name);
    let spec = hound::WavSpec { channels: 1, sample_rate: 16_000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut writer = hound::WavWriter::create(&out, spec).unwrap();
    samples.iter().for_each(|&s| writer.write_sample(s).unwrap());
    writer.finalize().unwrap();
    Some(out)
}

#[test]
fn one_english_sentence_before_german_in_the_same_window_stays_english() {
    // The window as a whole is heard as German, surely: its first sentence must not be
    // decoded as German (it came out as the one word "Die").
    let Some(model) = common::model("base") else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(path) = concatenated_clips(dir.path(), "en_de.wav", &["test_en.wav", "test_de.wav"]) else { return };
    let (events, result) = transcribe(&engine(&model), &path, TranscribeOptions::default());
    result.unwrap();
    let transcript = transcript_of(&events);
    let segments: Vec<_> = transcript.segments.iter().map(|s| (s.language.clone(), s.text.clone())).collect();
    let english: Vec<_> = transcript.segments.iter().filter(|s| s.end_s <= 4.7).collect();
    let english_text = english.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
    assert!(word_error_rate("Today only platforms one and three are used.", &english_text) <= 0.3, "{segments:?}");
    assert!(english.iter().all(|s| s.language.as_deref() == Some("en")), "{segments:?}");
    let german: Vec<_> = transcript.segments.iter().filter(|s| s.start_s >= 4.5).collect();
    let german_text = german.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
    assert!(word_error_rate("Die Werbung vermittelt einen falschen Eindruck.", &german_text) <= 0.3, "{segments:?}");
    assert!(german.iter().all(|s| s.language.as_deref() == Some("de")), "{segments:?}");
}

#[test]
fn a_code_switched_recording_keeps_both_halves_each_in_its_language() {
    let Some(model) = common::model("base") else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(path) = code_switched_recording(dir.path()) else { return };
    let english = "Today only platforms one and three are used. The expression goes 6 times 10 equals 60 not 600000 that gives us a 12% chance.";
    let german = "Die Werbung vermittelt einen falschen Eindruck. Meine Lieblingszahl ist 268.";
    let engine = engine(&model);
    for language in [None, Some("de")] {
        let options = TranscribeOptions { language: language.map(str::to_string), ..TranscribeOptions::default() };
        let (events, result) = transcribe(&engine, &path, options);
        result.unwrap();
        let transcript = transcript_of(&events);
        let warnings: Vec<_> = events.iter().filter(|e| matches!(e, EngineEvent::Warning { .. })).collect();
        println!("{language:?}: {:?} {warnings:?}", transcript.segments.iter().map(|s| (s.language.clone(), s.text.clone())).collect::<Vec<_>>());
        assert_word_times_are_sane(&transcript, "code-switched");
        let german_part: Vec<_> = transcript.segments.iter().filter(|s| s.start_s >= 12.0).collect();
        let german_text = german_part.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
        assert!(word_error_rate(german, &german_text) <= 0.3, "{language:?}: German half lost or wrong: {german_text:?}");
        let english_text =
            transcript.segments.iter().filter(|s| s.end_s <= 12.5).map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
        assert!(word_error_rate(english, &english_text) <= 0.35, "{language:?}: English half: {english_text:?}");
        if language.is_none() {
            // Language left to the model: each half is labelled with its own.
            assert!(german_part.iter().all(|s| s.language.as_deref() == Some("de")), "{:?}", transcript.segments);
            assert!(transcript.segments.iter().filter(|s| s.end_s <= 12.5).all(|s| s.language.as_deref() == Some("en")));
        }
    }
}

#[test]
fn a_recording_decoded_in_two_halves_at_once_keeps_every_word_in_order() {
    // With parallel decoders a chunk's windows are shared between two decoders running at
    // once, a thread each (the second half's text is sent after the first's); without, one
    // decoder does them all. Three readings in a row: five windows, cut after the second.
    let Some(model) = common::model(verbatim::models::QUANTIZED_DEFAULT_MODEL) else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(path) = common::readings_of_two_cities(dir.path(), "three_readings.wav", 3) else { return };
    let reference = [common::TWO_CITIES_REFERENCE; 3].join(" ");
    let engine = engine(&model);
    let mut texts = Vec::new();
    for parallel_decoders in [true, false] {
        let what = if parallel_decoders { "two decoders" } else { "one decoder" };
        let options = TranscribeOptions { threads: 2, parallel_decoders, ..english() };
        let (events, result) = transcribe(&engine, &path, options);
        result.unwrap();
        assert!(matches!(events.last(), Some(EngineEvent::Done { .. })));
        let transcript = transcript_of(&events);
        let text = transcript.plain_text();
        let wer = word_error_rate(&reference, &text);
        println!("{what}: WER {:.1} %: {text}", wer * 100.0);
        assert!(wer <= 0.05, "{what}: WER {:.1} %: {text}", wer * 100.0);
        assert_word_times_are_sane(&transcript, what);
        let starts: Vec<f64> = transcript.segments.iter().map(|s| s.start_s).collect();
        assert!(starts.windows(2).all(|pair| pair[0] < pair[1]), "{what}: segments out of order: {starts:?}");
        assert!(transcript.segments.last().is_some_and(|s| s.end_s > 3.0 * 41.0), "{what}: the end is missing: {text}");
        texts.push(text);
    }
    let between = word_error_rate(&texts[1], &texts[0]);
    assert!(between <= 0.02, "two decoders and one disagree on {:.1} % of the words", between * 100.0);
}
