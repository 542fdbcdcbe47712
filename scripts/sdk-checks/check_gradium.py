"""The official Gradium SDK (gradium) against `verbatim dev fake-server gradium`.

The SDK's only speech-to-text is the WebSocket stream (`…/api/speech/asr`: `setup`, then
base64 `audio` frames and `end_of_stream`; `ready`, `text`, `end_text`, `step` back); it has no
REST call, so the REST fake has nothing to be held against here. Its base URL is a parameter
(`GradiumClient(base_url=…)`, the socket is that URL with `http` turned into `ws`), so it is
pointed at the fake's `…/api/`.

Three ways in: the buffered `client.stt(setup, samples, sample_rate=24000)` (24 kHz int16 in
1920-sample frames), the streaming `client.stt_stream` (float32 frames), and the realtime
`client.stt_realtime` session with a `flush` half-way. The fake's text comes from the audio it
heard (`src/dev/fakes/gradium_ws.rs`): one `level N dB` per second of session louder than
-45 dB, starting at that second. So the check works the same pieces out from the samples it
sent and expects exactly those, at those times, and the SDK's reading of every message.

Not checked: the SDK's `input_format: "wav"` (WAV bytes with their header, as its CLI sends).
The service takes it; the fake takes PCM only (what Verbatim's client sends) and refuses `wav`
with a 1008 close, so that line says skip.
"""

import math

import numpy as np
from gradium import GradiumClient

from driver_support import Checks, expect, expect_equal

checks = Checks("gradium")

RATE_HZ = 24_000
FRAME_SAMPLES = 1920  # 80 ms at 24 kHz, the SDK's and the service's frame
SPEECH_LEVEL_DB = -45.0  # src/dev/fakes/live.rs


def jfk_at_24k():
    """The JFK clip (16 kHz mono PCM WAV) as 24 kHz int16, by linear interpolation."""
    import wave

    with wave.open(checks.audio, "rb") as clip:
        expect_equal((clip.getnchannels(), clip.getsampwidth()), (1, 2), "jfk.wav layout")
        rate = clip.getframerate()
        samples = np.frombuffer(clip.readframes(clip.getnframes()), dtype="<i2")
    times = np.arange(int(len(samples) * RATE_HZ / rate)) / RATE_HZ
    resampled = np.interp(times, np.arange(len(samples)) / rate, samples.astype(np.float64))
    return np.clip(np.round(resampled), -32768, 32767).astype(np.int16)


def level_db(samples):
    """Loudness as the fake measures it (`live::level_db`)."""
    if len(samples) == 0:
        return -120.0
    power = float(np.mean((samples.astype(np.float64) / 32768.0) ** 2))
    return max(10.0 * math.log10(max(power, 1e-12)), -120.0)


def expected_pieces(samples, cuts=()):
    """(text, start_s) the fake must send for `samples`: a piece per second, and a shorter one
    closed at each flush (`cuts`, in samples) and at the end."""
    pieces, start = [], 0
    for stop in sorted(cuts) + [len(samples)]:
        while start < stop:
            end = min(start + RATE_HZ, stop)
            if end - start < RATE_HZ and end != stop:
                break
            piece = samples[start:end]
            if level_db(piece) >= SPEECH_LEVEL_DB:
                pieces.append((f"level {level_db(piece):.0f} dB", start / RATE_HZ))
            start = end
    return pieces


def client(fake):
    return GradiumClient(base_url=fake.base_url + "/api/", api_key=fake.key)


def setup():
    return {"model_name": "default", "input_format": "pcm", "json_config": {"language": "en"}}


def expect_pieces(texts, samples, cuts=()):
    """The SDK's `TextWithTimestamps` against the pieces worked out from the audio."""
    wanted = expected_pieces(samples, cuts)
    expect(len(wanted) >= 5, f"the clip should give several loud seconds: {wanted}")
    got = [(t.text, round(t.start_s, 6)) for t in texts]
    expect_equal(got, [(text, round(start, 6)) for text, start in wanted], "pieces and start times")
    for piece in texts:
        expect(piece.stop_s >= piece.start_s, f"stop before start: {piece}")


async def buffered_stt_of_24k_samples(fake):
    samples = jfk_at_24k()
    result = await client(fake).stt(setup(), samples, sample_rate=RATE_HZ)
    expect_equal(result.request_id, "req_fake", "request_id (from ready)")
    expect_pieces(result.text_with_timestamps, samples)
    expect_equal(result.text, " ".join(t.text for t in result.text_with_timestamps), "text")


async def streamed_float_frames(fake):
    samples = jfk_at_24k()

    async def frames():
        floats = samples.astype(np.float32) / 32768.0
        for start in range(0, len(floats), FRAME_SAMPLES):
            yield floats[start : start + FRAME_SAMPLES]

    stream = await client(fake).stt_stream(setup(), frames())
    expect_equal(stream.delay_in_frames, 0, "delay_in_frames (from ready)")
    texts = [piece async for piece in stream.iter_text()]
    # float32 → int16 in the SDK truncates (`(x * 32768).astype(int16)`), as the fake hears it.
    heard = (samples.astype(np.float32) / 32768.0 * 32768).astype(np.int16)
    expect_pieces(texts, heard)


async def realtime_session_with_a_flush(fake):
    samples = jfk_at_24k()
    # A flush after 62 frames (4.96 s): the second under way comes out at once, shorter.
    flush_at = 62 * FRAME_SAMPLES
    messages = []
    async with client(fake).stt_realtime(**setup()) as stt:
        for start in range(0, len(samples), FRAME_SAMPLES):
            if start == flush_at:
                await stt.send_flush(flush_id=7)
            await stt.send_audio(samples[start : start + FRAME_SAMPLES])
        await stt.send_eos()
        async for message in stt:
            messages.append(message)
    kinds = [message["type"] for message in messages]
    expect_equal(kinds[0], "ready", "the first message")
    expect_equal(stt.ready["sample_rate"], RATE_HZ, "ready.sample_rate")
    expect_equal(kinds[-1], "end_of_stream", "the last message")
    flushed = [message for message in messages if message["type"] == "flushed"]
    expect_equal([message["flush_id"] for message in flushed], [7], "flushed ids")
    steps = [message for message in messages if message["type"] == "step"]
    expect_equal(len(steps), math.ceil(len(samples) / FRAME_SAMPLES), "one step per frame")
    # What the SDK's docs read from a step: the 2-second horizon's inactivity.
    expect(all(0.0 <= step["vad"][2]["inactivity_prob"] <= 1.0 for step in steps), "vad[2]")
    texts = [message for message in messages if message["type"] == "text"]
    ends = [message for message in messages if message["type"] == "end_text"]
    expect_equal(len(ends), len(texts), "an end_text for every text")
    got = [(message["text"], round(message["start_s"], 6)) for message in texts]
    wanted = [(text, round(start, 6)) for text, start in expected_pieces(samples, [flush_at])]
    expect_equal(got, wanted, "pieces and start times around the flush")


checks.run("stt of 24 kHz samples (buffered)", buffered_stt_of_24k_samples, "gradium")
checks.run("stt_stream of float frames", streamed_float_frames, "gradium")
checks.run("stt_realtime with a flush", realtime_session_with_a_flush, "gradium")
checks.skip("stt of WAV bytes (input_format wav)", "the fake takes PCM only, as Verbatim sends")
