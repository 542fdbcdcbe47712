//! Speaker labels by voice (`--speakers auto`): the Rust encoder against a numpy reference,
//! the diarization error rate on conversations built from different real speakers with known
//! turns, the command line end to end, and labels while recording (the local live engine).

mod common;
#[path = "common/conversation.rs"]
mod conversation;
#[path = "common/live_feed.rs"]
mod live_feed;

use conversation::{
    Conversation, RATE, brief_third_voice, call_with_a_short_reply, clip, espeak_call, held_out, interview, live_interview, phone_band, stereo_mixed,
    three_way, turns_of,
};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use verbatim::diarize::der::{Turn, diarization_error};
use verbatim::diarize::encoder::dot;
use verbatim::diarize::{Diarizer, SpeakerBounds};

fn speaker_model() -> Option<PathBuf> {
    match verbatim::diarize::locate_speaker_model() {
        Ok(path) => Some(path),
        Err(error) => {
            common::missing(&error.to_string());
            None
        }
    }
}

struct Scored {
    der: f64,
    speakers_found: usize,
    seconds_per_hour: f64,
}

fn diarize(model: &Path, talk: &Conversation, bounds: SpeakerBounds) -> Scored {
    let mut diarizer = Diarizer::load(model, 2).expect("speaker model loads");
    let started = Instant::now();
    diarizer.add_chunk(&talk.samples, 0.0);
    let turns = diarizer.turns(bounds);
    let elapsed_s = started.elapsed().as_secs_f64();
    let hypothesis: Vec<Turn> = turns.iter().map(|t| Turn { start_s: t.start_s, end_s: t.end_s, speaker: t.speaker.to_string() }).collect();
    let mut found: Vec<usize> = turns.iter().map(|t| t.speaker).collect();
    found.sort_unstable();
    found.dedup();
    Scored {
        der: diarization_error(&talk.reference, &hypothesis, 0.25).rate(),
        speakers_found: found.len(),
        seconds_per_hour: elapsed_s * 3600.0 / (talk.samples.len() as f64 / RATE as f64),
    }
}

/// The error rate of the reference itself with each overlap given to the speaker already
/// talking: the least a labelling with one speaker at a time can make. (The stereo file is
/// five seconds, the right channel's voice entirely under the left's: most of its error is
/// this floor.)
fn one_at_a_time_floor(talk: &Conversation) -> f64 {
    let mut sorted = talk.reference.clone();
    sorted.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    let mut oracle: Vec<Turn> = Vec::new();
    for turn in sorted {
        let start_s = oracle.last().map_or(turn.start_s, |last: &Turn| turn.start_s.max(last.end_s));
        if start_s < turn.end_s {
            oracle.push(Turn { start_s, ..turn });
        }
    }
    diarization_error(&talk.reference, &oracle, 0.25).rate()
}

#[test]
fn encoder_matches_the_numpy_reference() {
    let (Some(model), Some(wav)) = (speaker_model(), common::testdata("speech/jfk.wav")) else { return };
    let python = std::env::var_os("VERBATIM_TEST_NUMPY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| dirs::home_dir().unwrap_or_default().join(".cache/verbatim/sdk-venv/bin/python"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/speaker-embedding-reference");
    let firsts = [0usize, 350, 900];
    let output = Command::new(&python).arg(&script).arg(&model).arg(&wav).args(firsts.map(|f| f.to_string())).output();
    let output = match output {
        Ok(output) if output.status.success() => output,
        other => return common::missing(&format!("numpy reference ({}): {other:?}", python.display())),
    };
    let reference: Vec<Vec<f32>> =
        String::from_utf8_lossy(&output.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    let samples = verbatim::audio::read_mono_16k(&wav).unwrap();
    let mel = verbatim::diarize::features::MelSpectrogram::default().frames(&samples);
    let inputs: Vec<Vec<f32>> = firsts.iter().map(|&first| verbatim::diarize::windows::window_input(&mel, &samples, first)).collect();
    let encoder = verbatim::diarize::encoder::VoiceEncoder::load(&model).unwrap();
    let ours = encoder.embed(&inputs.iter().map(Vec::as_slice).collect::<Vec<_>>(), 2);
    assert_eq!(ours.len(), reference.len());
    for (index, (a, b)) in ours.iter().zip(&reference).enumerate() {
        let cosine = dot(a, b);
        assert!(cosine >= 0.999, "window {index}: cosine {cosine}");
    }
}

/// The speech detector against Silero VAD v6 run by onnxruntime on the same file
/// (`tests/reference/silero-vad-jfk.json`, from `scripts/speech-probability-reference`).
#[test]
fn speech_detector_matches_silero_under_onnxruntime() {
    let (Some(model), Some(wav)) = (speaker_model(), common::testdata("speech/jfk.wav")) else { return };
    let reference: Vec<f32> = serde_json::from_str(include_str!("reference/silero-vad-jfk.json")).unwrap();
    let detector = verbatim::diarize::speech::SpeechDetector::load(&verbatim::diarize::model::speech_model_path(&model)).unwrap();
    let samples = verbatim::audio::read_mono_16k(&wav).unwrap();
    let ours = detector.probabilities(&samples, 2);
    assert_eq!(ours.len(), reference.len());
    let worst = ours.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "largest difference from onnxruntime: {worst}");
    // jfk speaks for most of the clip, with pauses between his phrases.
    let speech_share = detector.active_frames(&samples, 2).iter().filter(|&&a| a).count() as f64 / (samples.len() as f64 / 320.0);
    assert!((0.5..0.9).contains(&speech_share), "speech share {speech_share}");
}

/// Windows are run in batches split between threads: each window's embedding must not depend
/// on which batch or thread it ran in, nor on its place in the batch.
#[test]
fn an_embedding_does_not_depend_on_its_batch_or_thread() {
    let (Some(model), Some(wav)) = (speaker_model(), common::testdata("speech/jfk.wav")) else { return };
    let samples = verbatim::audio::read_mono_16k(&wav).unwrap();
    let mel = verbatim::diarize::features::MelSpectrogram::default().frames(&samples);
    // 157 windows: more than one batch on one thread, two unequal batches on two.
    let inputs: Vec<Vec<f32>> = (0..940).step_by(6).map(|first| verbatim::diarize::windows::window_input(&mel, &samples, first)).collect();
    let views: Vec<&[f32]> = inputs.iter().map(Vec::as_slice).collect();
    let encoder = verbatim::diarize::encoder::VoiceEncoder::load(&model).unwrap();
    let (one_thread, two_threads) = (encoder.embed(&views, 1), encoder.embed(&views, 2));
    assert_eq!((one_thread.len(), two_threads.len()), (views.len(), views.len()));
    for index in [0, 1, 77, 78, 79, 127, 128, 156] {
        let alone = encoder.embed(&views[index..=index], 1);
        for (name, batched) in [("one thread", &one_thread[index]), ("two threads", &two_threads[index])] {
            let cosine = dot(&alone[0], batched);
            assert!(cosine > 0.99999, "window {index}, {name}: cosine {cosine} with the window embedded alone");
        }
    }
    let cosine_of_neighbours = dot(&one_thread[0], &one_thread[100]);
    assert!(cosine_of_neighbours < 0.99, "different windows must differ: {cosine_of_neighbours}");
}

#[test]
fn conversations_are_labelled_with_a_low_error_rate_and_the_right_speaker_count() {
    let Some(model) = speaker_model() else { return };
    let (Some(interview), Some(three_way), Some(stereo)) = (interview(), three_way(), stereo_mixed()) else { return };
    let mut failures = Vec::new();
    for (name, talk, scored_strictly) in [("interview", &interview, true), ("three-way", &three_way, true), ("stereo mixed", &stereo, false)] {
        let scored = diarize(&model, talk, SpeakerBounds::default());
        println!(
            "{name}: DER {:.1} % (one speaker at a time cannot go below {:.1} %), speakers {} found / {} true, {:.0} s per hour of audio",
            scored.der * 100.0, one_at_a_time_floor(talk) * 100.0, scored.speakers_found, talk.speaker_count(), scored.seconds_per_hour
        );
        if scored_strictly && (scored.der > 0.15 || scored.speakers_found != talk.speaker_count()) {
            failures.push(name);
        }
    }
    assert!(failures.is_empty(), "too many errors on {failures:?}");
    // Bounds are obeyed even where the voices say otherwise.
    assert_eq!(diarize(&model, &interview, SpeakerBounds { min: Some(3), max: None }).speakers_found, 3);
    assert_eq!(diarize(&model, &three_way, SpeakerBounds { min: None, max: Some(2) }).speakers_found, 2);
}

/// One voice alone is one speaker (JFK alone was heard as two before the silhouette check).
#[test]
fn a_single_voice_is_one_speaker() {
    let Some(model) = speaker_model() else { return };
    let (Some(jfk), Some(cities)) = (clip("speech/jfk.wav"), clip("speech/two_cities.wav")) else { return };
    let alone = |samples: &[f32]| {
        let mut talk = Conversation::default();
        talk.say("one", samples, 0.0);
        talk
    };
    let talks = [("jfk", alone(&jfk)), ("two cities", alone(&cities)), ("two cities ten times", alone(&cities.repeat(10)))];
    let mut failures = Vec::new();
    for (name, talk) in &talks {
        let scored = diarize(&model, talk, SpeakerBounds::default());
        println!("single voice {name}: speakers {} found, DER {:.1} %", scored.speakers_found, scored.der * 100.0);
        if scored.speakers_found != 1 {
            failures.push(*name);
        }
    }
    assert!(failures.is_empty(), "one voice heard as several: {failures:?}");
}

/// A reply of 0.6 s between pauses is too little voice to found a speaker: it joins its
/// speaker (before, it was heard as a third one).
#[test]
fn a_short_reply_joins_its_speaker_instead_of_founding_one() {
    let Some(model) = speaker_model() else { return };
    let Some(talk) = call_with_a_short_reply() else { return };
    let scored = diarize(&model, &talk, SpeakerBounds::default());
    println!("call with a short reply: DER {:.1} %, speakers {} found / {} true", scored.der * 100.0, scored.speakers_found, talk.speaker_count());
    assert_eq!(scored.speakers_found, 2);
    assert!(scored.der <= 0.05, "DER {:.1} %", scored.der * 100.0);
}

/// A third voice heard once, for 2.6 s of a minute's conversation, is a speaker of its own,
/// as recorded and through a phone band (a speaker must hold a share of the windows to count:
/// this is what that share must not swallow).
#[test]
fn a_voice_heard_once_briefly_is_still_a_speaker() {
    let Some(model) = speaker_model() else { return };
    let Some(talk) = brief_third_voice() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(phone) = phone_band(&talk, dir.path()) else { return };
    for (band, talk) in [("as recorded", &talk), ("phone band", &phone)] {
        let scored = diarize(&model, talk, SpeakerBounds::default());
        println!("brief third voice, {band}: DER {:.1} %, speakers {} found / 3 true", scored.der * 100.0, scored.speakers_found);
        assert_eq!(scored.speakers_found, 3, "{band}");
        assert!(scored.der <= 0.15, "{band}: DER {:.1} %", scored.der * 100.0);
    }
}

/// Every pair, eight triples, and ten meetings of four or five of eight voices of the shared
/// recordings (turns cut at their pauses), as recorded and through a phone band: for each size,
/// how often the count is right and the mean DER, and each conversation whose count is wrong.
/// Printed for `scripts/bench --speakers`, not bounded.
#[test]
#[ignore]
fn bench_conversations_of_two_to_five_shared_voices() {
    let Some(model) = speaker_model() else { return };
    let names = ["speech/jfk.wav", "speech/two_cities.wav", "multilingual/test_en.wav", "multilingual/test_de.wav",
        "multilingual/test_es.wav", "multilingual/test_fr.wav", "multilingual/test_it.wav", "multilingual/test_pt.wav"];
    let Some(voices) = names.iter().map(|name| clip(name).map(|c| c[..c.len().min(12 * RATE)].to_vec())).collect::<Option<Vec<_>>>() else { return };
    let mut groups: Vec<Vec<usize>> = (0..8).flat_map(|a| (a + 1..8).map(move |b| vec![a, b])).collect();
    groups.extend([[0, 1, 2], [0, 3, 5], [1, 4, 6], [2, 5, 7], [0, 6, 7], [1, 3, 5], [2, 3, 4], [3, 4, 5]].map(Vec::from));
    groups.extend([[0, 1, 2, 3], [4, 5, 6, 7], [0, 2, 4, 6], [1, 3, 5, 7], [0, 3, 6, 7], [1, 2, 4, 5]].map(Vec::from));
    groups.extend([[0, 1, 2, 3, 4], [3, 4, 5, 6, 7], [0, 2, 4, 6, 7], [1, 2, 3, 5, 6]].map(Vec::from));
    let mut sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let dir = tempfile::tempdir().unwrap();
    for phone in [false, true] {
        let band = if phone { "phone band" } else { "as recorded" };
        for &size in &sizes {
            let (mut right, mut der_sum, mut count) = (0, 0.0, 0);
            for group in groups.iter().filter(|group| group.len() == size) {
                let Some(scored) = score_group(&model, &voices, group, phone.then_some(dir.path())) else { return };
                let count_right = scored.speakers_found == group.len();
                if !count_right {
                    let voice_names: Vec<&str> = group.iter().map(|&v| names[v]).collect();
                    println!("  {band}: {} speakers found for {}: DER {:.1} %", scored.speakers_found, voice_names.join(" + "), 100.0 * scored.der);
                }
                right += usize::from(count_right);
                der_sum += scored.der;
                count += 1;
            }
            println!("{size} of 8 voices, {band}: mean DER {:.1} %, speakers right in {right} / {count}", 100.0 * der_sum / count as f64);
        }
    }
}

/// A conversation of the `group`'s voices (turns cut at their pauses) labelled and scored;
/// through a phone band written in `phone_dir` when given. `None` when the phone band cannot
/// be made (sox missing, already reported).
fn score_group(model: &Path, voices: &[Vec<f32>], group: &[usize], phone_dir: Option<&Path>) -> Option<Scored> {
    let speakers: Vec<(&str, &[f32])> = group.iter().zip(["a", "b", "c", "d", "e"]).map(|(&v, label)| (label, voices[v].as_slice())).collect();
    let mut talk = turns_of(&speakers);
    if let Some(dir) = phone_dir {
        talk = phone_band(&talk, dir)?;
    }
    Some(diarize(model, &talk, SpeakerBounds::default()))
}

/// What a held-out conversation's score must meet.
enum Bounded {
    DerAndCount,
    Der,
    Nothing,
}

/// Conversations the method was not tuned on ([`conversation::held_out`]), scored apart.
#[test]
fn held_out_conversations_are_scored_separately() {
    let Some(model) = speaker_model() else { return };
    let Some(talks) = held_out() else { return };
    let dir = tempfile::tempdir().unwrap();
    // The three-way's count is printed, not bounded: the encoder hears fr_norm's voice as
    // de_norm's (0.63 between the two clips, as alike as windows of one voice often are; one of
    // fr_norm's two windows is spoken over de_norm's), so two speakers are found: no labelling
    // with a third is as clearly apart.
    let mut scored_talks: Vec<(&str, Conversation, Bounded)> = talks
        .into_iter()
        .map(|(name, talk)| (name, talk, if name.starts_with("three") { Bounded::Der } else { Bounded::DerAndCount }))
        .collect();
    // Printed, not bounded: the encoder hears two espeak-ng voices as one (it learnt real
    // voices; both are the same formant synthesiser), so it fails here.
    scored_talks.extend(espeak_call(dir.path()).map(|talk| ("espeak call", talk, Bounded::Nothing)));
    let mut failures = Vec::new();
    for (name, talk, bounded) in &scored_talks {
        let scored = diarize(&model, talk, SpeakerBounds::default());
        println!(
            "held out {name}: DER {:.1} % (floor {:.1} %), speakers {} found / {} true, {:.1} s of speech",
            scored.der * 100.0, one_at_a_time_floor(talk) * 100.0, scored.speakers_found, talk.speaker_count(),
            talk.reference.iter().map(|t| t.end_s - t.start_s).sum::<f64>()
        );
        // Looser than the tuned set's 15 %: these are seconds long, and not to be tuned on.
        let der_too_high = scored.der > 0.25;
        let count_wrong = scored.speakers_found != talk.speaker_count();
        let failed = match bounded {
            Bounded::DerAndCount => der_too_high || count_wrong,
            Bounded::Der => der_too_high,
            Bounded::Nothing => false,
        };
        if failed {
            failures.push(*name);
        }
    }
    assert!(failures.is_empty(), "held-out conversations labelled badly: {failures:?}");
}

fn verbatim(args: &[&str], models_dir: Option<&Path>) -> std::process::Output {
    let mut command = Command::new(common::verbatim_exe());
    command.args(args);
    if let Some(dir) = models_dir {
        command.env("VERBATIM_MODELS_DIR", dir);
    }
    command.output().unwrap()
}

#[test]
fn cli_labels_speakers_and_refuses_what_cannot_work() {
    let Some(talk) = interview() else { return };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("interview.wav");
    talk.write_wav(&wav);
    let wav_arg = wav.to_str().unwrap();

    let empty = dir.path().join("no-models");
    let output = verbatim(&["transcribe", "--speakers", "auto", wav_arg], Some(&empty));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("speaker model is not installed") && stderr.contains("scripts/setup"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let output = verbatim(&["transcribe", "--speakers", "auto", "--min-speakers", "3", "--max-speakers", "2", wav_arg], None);
    assert!(String::from_utf8_lossy(&output.stderr).contains("--min-speakers (3) is more than --max-speakers (2)"));
    let output = verbatim(&["transcribe", "--max-speakers", "2", wav_arg], None);
    assert!(String::from_utf8_lossy(&output.stderr).contains("work with --speakers auto"));

    if speaker_model().is_none() || common::model("tiny.en").is_none() {
        return;
    }
    let json = dir.path().join("interview.json");
    let output = verbatim(&["transcribe", "--speakers", "auto", "--format", "json", "-o", json.to_str().unwrap(), "--quiet", wav_arg], None);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let document: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let segments = document["segments"].as_array().unwrap();
    let speaker_of = |needle: &str| {
        segments
            .iter()
            .find(|s| s["text"].as_str().unwrap_or("").to_lowercase().contains(needle))
            .and_then(|s| s["speaker"].as_str().map(str::to_string))
            .unwrap_or_else(|| panic!("no labelled segment with '{needle}': {segments:?}"))
    };
    let (kennedy, reader) = (speaker_of("americans"), speaker_of("worst of times"));
    assert_ne!(kennedy, reader);
    assert_eq!(speaker_of("your country"), kennedy);
    assert_eq!(speaker_of("incredulity"), reader);
    assert_eq!(document["speakers"].as_array().map(Vec::len), Some(2), "{}", document["speakers"]);
    assert!(segments.iter().all(|s| s["speaker"].is_string()), "every segment labelled");
}

/// `scripts/bench --speakers`: labelling time per hour of audio on an hour built from the
/// test recordings (ignored in the normal run: it takes a minute or two).
#[test]
#[ignore]
fn bench_an_hour_of_speaker_labelling() {
    let Some(model) = speaker_model() else { return };
    let (Some(interview), Some(three_way)) = (interview(), three_way()) else { return };
    let mut hour = Conversation::default();
    while hour.samples.len() < 3600 * RATE {
        let talk = if hour.samples.len() / RATE % 2 == 0 { &interview } else { &three_way };
        let offset_s = hour.samples.len() as f64 / RATE as f64;
        hour.samples.extend_from_slice(&talk.samples);
        hour.reference.extend(talk.reference.iter().map(|t| Turn { start_s: t.start_s + offset_s, end_s: t.end_s + offset_s, speaker: t.speaker.clone() }));
    }
    let mut diarizer = Diarizer::load(&model, 2).unwrap();
    let started = Instant::now();
    // In five-minute chunks, as the local engine feeds it.
    for (index, chunk) in hour.samples.chunks(300 * RATE).enumerate() {
        diarizer.add_chunk(chunk, (index * 300) as f64);
    }
    let embedded_s = started.elapsed().as_secs_f64();
    let turns = diarizer.turns(SpeakerBounds::default());
    let total_s = started.elapsed().as_secs_f64();
    let hypothesis: Vec<Turn> = turns.iter().map(|t| Turn { start_s: t.start_s, end_s: t.end_s, speaker: t.speaker.to_string() }).collect();
    let mut found: Vec<usize> = turns.iter().map(|t| t.speaker).collect();
    found.sort_unstable();
    found.dedup();
    let hours = hour.samples.len() as f64 / RATE as f64 / 3600.0;
    println!(
        "hour: {:.0} s per hour of audio ({:.0} s embedding, {:.1} s clustering), DER {:.1} %, speakers {} found / {} true",
        total_s / hours, embedded_s / hours, (total_s - embedded_s) / hours,
        diarization_error(&hour.reference, &hypothesis, 0.25).rate() * 100.0, found.len(), hour.speaker_count()
    );
}

#[test]
fn live_labels_appear_while_recording_and_are_revised_under_the_same_key() {
    use verbatim::engine::local::{LocalEngine, LocalEngineConfig};
    use verbatim::engine::{LiveEngine, SpeakerMode, TranscribeOptions};
    let (Some(_), Some(whisper), Some(talk)) = (speaker_model(), common::model("tiny.en"), live_interview()) else { return };
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("interview.wav");
    talk.write_wav(&wav);
    let engine = LocalEngine::with_worker(LocalEngineConfig { model_path: whisper, ..LocalEngineConfig::default() }, common::verbatim_exe());
    let options = TranscribeOptions { language: Some("en".into()), speakers: SpeakerMode::Auto, ..TranscribeOptions::default() };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (events, audio_done) = runtime.block_on(async {
        let (audio_sender, audio) = tokio::sync::mpsc::unbounded_channel();
        let (sink, receiver) = verbatim::events::EventSink::channel();
        let collector = tokio::spawn(live_feed::collect(receiver));
        let feeder = tokio::spawn(async move {
            live_feed::feed(live_feed::blocks_of(&wav, 1), audio_sender, 2.0, Instant::now()).await;
            Instant::now()
        });
        let result = engine.transcribe_live(audio, &options, &sink, &tokio_util::sync::CancellationToken::new()).await;
        result.expect("live session");
        drop(sink);
        let audio_done = feeder.await.unwrap();
        (collector.await.unwrap(), audio_done)
    });
    let segments: Vec<(&Instant, &verbatim::events::Segment)> = events
        .iter()
        .filter_map(|stamped| match &stamped.event {
            verbatim::events::EngineEvent::Segment(segment) => Some((&stamped.at, segment)),
            _ => None,
        })
        .collect();
    assert!(segments.iter().any(|(at, s)| s.speaker.is_some() && **at < audio_done), "labels came only after the recording ended");
    let mut transcript = verbatim::transcript::Transcript::new();
    events.iter().for_each(|stamped| transcript.apply(&stamped.event));
    let mut keys: Vec<&str> = transcript.segments.iter().filter_map(|s| s.revision_key.as_deref()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), transcript.segments.len(), "each segment has its own key, revisions replaced their segment");
    println!("{} segment events for {} segments; labels: {:?}", segments.len(), transcript.segments.len(),
        transcript.segments.iter().map(|s| (s.start_s.round(), s.speaker.clone().unwrap_or_default())).collect::<Vec<_>>());
    let speaker_of = |needle: &str| {
        transcript
            .segments
            .iter()
            .find(|s| s.text.to_lowercase().contains(needle))
            .and_then(|s| s.speaker.clone())
            .unwrap_or_else(|| panic!("no labelled segment with '{needle}': {:?}", transcript.segments))
    };
    let (kennedy, reader) = (speaker_of("americans"), speaker_of("worst of times"));
    assert_ne!(kennedy, reader);
    assert_eq!(speaker_of("your country"), kennedy);
    assert_eq!(speaker_of("incredulity"), reader);
    assert!(transcript.segments.iter().all(|s| s.speaker.is_some()), "every segment labelled by the end: {:?}", transcript.segments);
}

/// A cancel part-way (the window's Cancel, the CLI's Ctrl-C) still delivers every segment
/// decoded so far, labelled by the voices heard so far, before the engine returns.
#[test]
fn a_cancel_part_way_delivers_the_held_segments_labelled() {
    use verbatim::engine::local::{LocalEngine, LocalEngineConfig};
    use verbatim::engine::{Engine, EngineError, SpeakerMode, TranscribeOptions};
    use verbatim::events::EngineEvent;
    let (Some(_), Some(whisper)) = (speaker_model(), common::model("tiny.en")) else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(long) = common::long_recording(dir.path()) else { return };
    let engine = LocalEngine::with_worker(LocalEngineConfig { model_path: whisper, ..LocalEngineConfig::default() }, common::verbatim_exe());
    let options = TranscribeOptions { language: Some("en".into()), speakers: SpeakerMode::Auto, ..TranscribeOptions::default() };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (result, events) = runtime.block_on(async {
        let (sink, mut receiver) = verbatim::events::EventSink::channel();
        let cancel = tokio_util::sync::CancellationToken::new();
        let watcher = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                let mut events = Vec::new();
                while let Some(event) = receiver.recv().await {
                    // Some speech decoded, far from the end: cancel.
                    if matches!(event, EngineEvent::Progress { done_s, .. } if done_s > 20.0) {
                        cancel.cancel();
                    }
                    events.push(event);
                }
                events
            })
        };
        let result = engine.transcribe_file(&long, &options, &sink, &cancel).await;
        drop(sink);
        (result, watcher.await.unwrap())
    });
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
    let segments: Vec<&verbatim::events::Segment> =
        events.iter().filter_map(|event| if let EngineEvent::Segment(segment) = event { Some(segment) } else { None }).collect();
    let text: String = segments.iter().map(|s| s.text.to_lowercase()).collect::<Vec<_>>().join(" ");
    assert!(text.contains("best of times"), "the words decoded before the cancel are lost: {text:?}");
    assert!(segments.iter().all(|s| s.speaker.is_some()), "unlabelled: {segments:?}");
    assert!(segments.iter().all(|s| s.end_s < 400.0), "not stopped part-way");
}
