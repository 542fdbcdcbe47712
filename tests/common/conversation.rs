//! Conversations put together from the shared recordings of different real speakers, with
//! the reference turns they were built with: for the speaker-labelling tests and the window's.
#![allow(dead_code)]

use verbatim::dev::testdata::testdata;
use std::path::Path;
use verbatim::diarize::der::Turn;

pub const RATE: usize = 16_000;

pub fn clip(relative: &str) -> Option<Vec<f32>> {
    let path = testdata(relative)?;
    Some(verbatim::audio::read_mono_16k(&path).expect("decodable test clip"))
}

pub fn seconds(samples: &[f32], from_s: f64, to_s: f64) -> Vec<f32> {
    let end = ((to_s * RATE as f64) as usize).min(samples.len());
    samples[((from_s * RATE as f64) as usize).min(end)..end].to_vec()
}

/// A conversation put together from clips of known speakers, with its reference turns: where
/// each clip has sound (the VAD on the clip alone), labelled with its speaker.
#[derive(Default)]
pub struct Conversation {
    pub samples: Vec<f32>,
    pub reference: Vec<Turn>,
}

impl Conversation {
    /// Adds `clip` spoken by `speaker` after `gap_s` of silence, or — with a negative gap —
    /// over the end of what came before.
    pub fn say(&mut self, speaker: &str, clip: &[f32], gap_s: f64) -> &mut Self {
        let start = (self.samples.len() as i64 + (gap_s * RATE as f64) as i64).max(0) as usize;
        if self.samples.len() < start + clip.len() {
            self.samples.resize(start + clip.len(), 0.0);
        }
        self.samples[start..start + clip.len()].iter_mut().zip(clip).for_each(|(s, c)| *s += c);
        let active = verbatim::vad::active_frames(&verbatim::vad::frame_levels_dbfs(clip, verbatim::vad::frame_len(RATE as u32)));
        for (from_s, to_s) in verbatim::diarize::windows::speech_regions(&active) {
            let offset_s = start as f64 / RATE as f64;
            self.reference.push(Turn { start_s: offset_s + from_s, end_s: offset_s + to_s, speaker: speaker.to_string() });
        }
        self
    }

    pub fn speaker_count(&self) -> usize {
        let mut names: Vec<&str> = self.reference.iter().map(|t| t.speaker.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.len()
    }

    pub fn write_wav(&self, path: &Path) {
        let spec = hound::WavSpec { channels: 1, sample_rate: RATE as u32, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
        let mut writer = hound::WavWriter::create(path, spec).unwrap();
        for &s in &self.samples {
            writer.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16).unwrap();
        }
        writer.finalize().unwrap();
    }
}

/// Two speakers taking turns (JFK and the Tale of Two Cities reader), with short pauses.
pub fn interview() -> Option<Conversation> {
    let (jfk, cities) = (clip("speech/jfk.wav")?, clip("speech/two_cities.wav")?);
    let mut talk = Conversation::default();
    talk.say("jfk", &seconds(&jfk, 0.0, 5.5), 0.5)
        .say("cities", &seconds(&cities, 0.0, 8.0), 0.4)
        .say("jfk", &seconds(&jfk, 5.5, 11.0), 0.3)
        .say("cities", &seconds(&cities, 8.0, 20.0), 0.5)
        .say("jfk", &seconds(&jfk, 0.0, 3.0), 0.4)
        .say("cities", &seconds(&cities, 20.0, 30.0), 0.3);
    Some(talk)
}

/// The interview's turns with the pauses a live phrase ends at (0.9 s).
pub fn live_interview() -> Option<Conversation> {
    let (jfk, cities) = (clip("speech/jfk.wav")?, clip("speech/two_cities.wav")?);
    let mut talk = Conversation::default();
    talk.say("jfk", &seconds(&jfk, 0.0, 5.5), 0.5)
        .say("cities", &seconds(&cities, 0.0, 8.0), 0.9)
        .say("jfk", &seconds(&jfk, 5.5, 11.0), 0.9)
        .say("cities", &seconds(&cities, 8.0, 20.0), 0.9)
        .say("jfk", &seconds(&jfk, 0.0, 3.0), 0.9)
        .say("cities", &seconds(&cities, 20.0, 30.0), 0.9);
    talk.samples.extend(vec![0.0; RATE]);
    Some(talk)
}

/// Three speakers, two of the changes spoken over each other.
pub fn three_way() -> Option<Conversation> {
    let (jfk, cities, english) = (clip("speech/jfk.wav")?, clip("speech/two_cities.wav")?, clip("multilingual/test_en.wav")?);
    let mut talk = Conversation::default();
    talk.say("jfk", &seconds(&jfk, 0.0, 5.5), 0.3)
        .say("cities", &seconds(&cities, 0.0, 7.0), 0.4)
        .say("en", &english, -0.6)
        .say("jfk", &seconds(&jfk, 5.5, 11.0), 0.4)
        .say("cities", &seconds(&cities, 7.0, 15.0), -0.5)
        .say("en", &seconds(&english, 0.0, 3.0), 0.5);
    Some(talk)
}

/// A minute of the Tale of Two Cities reader and JFK taking turns, and one remark of 2.6 s by
/// a third voice (test_fr_norm) in the middle: about 4 % of the speech.
pub fn brief_third_voice() -> Option<Conversation> {
    let (jfk, cities, remark) = (clip("speech/jfk.wav")?, clip("speech/two_cities.wav")?, clip("multilingual/test_fr_norm.wav")?);
    let mut talk = Conversation::default();
    talk.say("cities", &seconds(&cities, 0.0, 20.0), 0.3)
        .say("jfk", &seconds(&jfk, 0.0, 5.5), 0.4)
        .say("cities", &seconds(&cities, 20.0, 30.0), 0.3)
        .say("remark", &remark, 0.4)
        .say("cities", &seconds(&cities, 30.0, 44.0), 0.3)
        .say("jfk", &seconds(&jfk, 5.5, 11.0), 0.3);
    Some(talk)
}

/// The stereo test file mixed to mono; its channels give the reference.
pub fn stereo_mixed() -> Option<Conversation> {
    let path = testdata("stereo/stereo_diarization.wav")?;
    let mut reader = hound::WavReader::open(path).unwrap();
    let interleaved: Vec<f32> = reader.samples::<i16>().map(|s| s.unwrap() as f32 / 32768.0).collect();
    let left: Vec<f32> = interleaved.iter().step_by(2).copied().collect();
    let right: Vec<f32> = interleaved.iter().skip(1).step_by(2).copied().collect();
    let mut talk = Conversation::default();
    talk.say("left", &left, 0.0).say("right", &right, -(right.len() as f64 / RATE as f64));
    Some(talk)
}


/// `samples` cut in two at its longest pause between speech (the VAD's), for two turns of
/// one speaker without repeating any audio.
pub fn halves(samples: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let active = verbatim::vad::active_frames(&verbatim::vad::frame_levels_dbfs(samples, verbatim::vad::frame_len(RATE as u32)));
    let regions = verbatim::diarize::windows::speech_regions(&active);
    let cut_s = regions
        .windows(2)
        .max_by(|a, b| (a[1].0 - a[0].1).total_cmp(&(b[1].0 - b[0].1)))
        .map_or(samples.len() as f64 / RATE as f64 / 2.0, |pair| (pair[0].1 + pair[1].0) / 2.0);
    let total_s = samples.len() as f64 / RATE as f64;
    (seconds(samples, 0.0, cut_s), seconds(samples, cut_s, total_s))
}

/// A call between the German and the Portuguese recordings, each cut in two at its longest
/// pause: the Portuguese speaker's first turn is a reply of 0.6 s alone between pauses.
pub fn call_with_a_short_reply() -> Option<Conversation> {
    Some(turns_of(&[("de", &clip("multilingual/test_de.wav")?), ("pt", &clip("multilingual/test_pt.wav")?)]))
}

/// Turns of two or more speakers, each clip cut in two at its longest pause: a's first
/// half, b's (and the others'), then the second halves in the same order, 0.3 s apart.
pub fn turns_of(speakers: &[(&str, &[f32])]) -> Conversation {
    let cut: Vec<(Vec<f32>, Vec<f32>)> = speakers.iter().map(|(_, samples)| halves(samples)).collect();
    let mut talk = Conversation::default();
    for ((name, _), (first, _)) in speakers.iter().zip(&cut) {
        talk.say(name, first, 0.3);
    }
    for ((name, _), (_, second)) in speakers.iter().zip(&cut) {
        talk.say(name, second, 0.3);
    }
    talk
}

/// `talk` as a phone line carries it (sox: 300-3400 Hz, through 8 kHz), in `dir`.
pub fn phone_band(talk: &Conversation, dir: &Path) -> Option<Conversation> {
    let (wide, narrow) = (dir.join("wide.wav"), dir.join("narrow.wav"));
    talk.write_wav(&wide);
    let status = std::process::Command::new("sox")
        .arg(&wide)
        .arg(&narrow)
        .args(["highpass", "300", "lowpass", "3400", "rate", "8k", "rate", "16k"])
        .status();
    if !status.is_ok_and(|status| status.success()) {
        verbatim::dev::testdata::missing("sox (for phone-band conversations)");
        return None;
    }
    Some(Conversation { samples: verbatim::audio::read_mono_16k(&narrow).expect("sox writes a WAV"), reference: talk.reference.clone() })
}

/// Held out from tuning (nothing in `src/diarize` was chosen by looking at these): phone-call
/// like exchanges of short turns, some spoken over each other, between voices of the
/// multilingual recordings. Each speaker is one recording (never its `_norm` sibling too: the
/// two may or may not be the same person — their voices are no closer than other pairs), cut
/// at its longest pause into two turns.
pub fn held_out() -> Option<Vec<(&'static str, Conversation)>> {
    let turns = |name: &str| -> Option<(Vec<f32>, Vec<f32>)> { Some(halves(&clip(&format!("multilingual/test_{name}.wav"))?)) };
    let (de, fr, es, it) = (turns("de")?, turns("fr")?, turns("es")?, turns("it")?);
    let (pt, de_norm, fr_norm) = (turns("pt")?, turns("de_norm")?, turns("fr_norm")?);
    let mut call_a = Conversation::default();
    call_a.say("de", &de.0, 0.3).say("fr", &fr.0, 0.2).say("de", &de.1, -0.3).say("fr", &fr.1, 0.4);
    let mut call_b = Conversation::default();
    call_b.say("es", &es.0, 0.3).say("it", &it.0, -0.3).say("es", &es.1, 0.2).say("it", &it.1, 0.3);
    let mut three = Conversation::default();
    three
        .say("pt", &pt.0, 0.3)
        .say("de_norm", &de_norm.0, 0.3)
        .say("fr_norm", &fr_norm.0, -0.3)
        .say("pt", &pt.1, 0.3)
        .say("de_norm", &de_norm.1, 0.2)
        .say("fr_norm", &fr_norm.1, 0.3);
    Some(vec![("call de/fr", call_a), ("call es/it", call_b), ("three pt/de/fr", three)])
}

/// Held out too: a phone call of short turns between two espeak-ng voices (a man's and a
/// woman's formant voice), rendered into `dir`; `None` without espeak-ng.
pub fn espeak_call(dir: &Path) -> Option<Conversation> {
    let lines = [
        ("man", "en-us+m3", "Hello, thanks for calling back so quickly."),
        ("woman", "en-gb+f4", "Of course. Did you get the file I sent?"),
        ("man", "en-us+m3", "Yes, this morning."),
        ("woman", "en-gb+f4", "Good. Can we go through the numbers now?"),
        ("man", "en-us+m3", "Sure. The first quarter looks better than we hoped."),
        ("woman", "en-gb+f4", "Really? By how much?"),
        ("man", "en-us+m3", "About twelve percent over the plan."),
        ("woman", "en-gb+f4", "That is great news. I will tell the team."),
    ];
    let mut talk = Conversation::default();
    for (index, (speaker, voice, text)) in lines.iter().enumerate() {
        let wav = dir.join(format!("line{index}.wav"));
        let rendered = std::process::Command::new("espeak-ng").args(["-v", voice, "-w"]).arg(&wav).arg(text).status();
        if !rendered.is_ok_and(|status| status.success()) {
            verbatim::dev::testdata::missing("espeak-ng (for the synthetic phone call)");
            return None;
        }
        let samples = verbatim::audio::read_mono_16k(&wav).expect("espeak-ng writes a WAV");
        // Every third change is spoken over the end of the turn before.
        let gap_s = if index % 3 == 2 { -0.4 } else { 0.3 };
        talk.say(speaker, &samples, gap_s);
    }
    Some(talk)
}
