"""The official PolarGrid SDK (polargrid-sdk) against `verbatim dev fake-server polargrid`, in
every mode it has: async jobs (submit, poll, result), sync in every response format, the SSE
stream in both delta styles, and the autorouter for every model id the SDK knows.

Its pydantic models are what a real client requires of the service: a fake that leaves out a
field they need fails here.
"""

from pathlib import Path

import polargrid.client
from polargrid import PolarGrid, PolarGridError
from polargrid.types import STTModel

from driver_support import JFK_TEXT, Checks, expect, expect_equal

checks = Checks("polargrid")
audio = Path(checks.audio)


def client(fake):
    return PolarGrid(api_key=fake.key, base_url=fake.base_url, max_retries=0)


async def async_job_with_the_sdk_default_model(fake):
    pg = client(fake)
    job = await pg.transcribe_async(file=audio)
    expect_equal(job.metadata.filename, audio.name, "metadata.filename")
    expect_equal(job.metadata.audio_format, "wav", "metadata.audio_format")
    expect_equal(job.metadata.model, "stt-1b-en_fr", "metadata.model (the SDK's default)")
    seen = []
    result = await pg.transcribe_and_wait(
        file=audio, poll_interval=0.02, on_progress=lambda info: seen.append(info.status.value)
    )
    expect_equal(result.text, JFK_TEXT, "the job's text")
    expect_equal(result.status, "completed", "the result's status")
    expect_equal(seen, ["accepted", "processing", "processing", "completed"], "polled statuses")


async def async_job_in_verbose_json(fake):
    result = await client(fake).transcribe_and_wait(
        file=audio, model="whisper-large-v3-turbo", response_format="verbose_json",
        poll_interval=0.02,
    )
    expect_equal(result.text, JFK_TEXT, "the job's text")
    expect(result.duration and result.language == "en", f"duration and language: {result}")


async def failed_job_raises_the_sdks_error(fake):
    try:
        await client(fake).transcribe_and_wait(file=audio, poll_interval=0.02)
    except PolarGridError as error:
        expect("could not be decoded" in str(error), f"the reason: {error}")
        return
    raise AssertionError("a failed job did not raise")


async def sync_in_every_format(fake):
    pg = client(fake)
    request = {"model": "whisper-large-v3-turbo", "stream": False, "language": "en"}
    plain = await pg.transcribe(audio, {**request, "response_format": "json"})
    expect_equal(plain.text, JFK_TEXT, "json")
    verbose = await pg.transcribe(audio, {**request, "response_format": "verbose_json"})
    expect_equal(len(verbose.segments), 3, "verbose_json segments")
    expect_equal(verbose.text, JFK_TEXT, "verbose_json text")
    text = await pg.transcribe(audio, {**request, "response_format": "text"})
    expect_equal(text, JFK_TEXT, "text")
    srt = await pg.transcribe(audio, {**request, "response_format": "srt"})
    expect(srt.startswith("1\n00:00:00,320 --> "), f"srt: {srt[:60]!r}")
    vtt = await pg.transcribe(audio, {**request, "response_format": "vtt"})
    expect(vtt.startswith("WEBVTT\n\n00:00:00.320 --> "), f"vtt: {vtt[:60]!r}")


async def stream_events(fake, deltas_add_up):
    events = [
        event
        async for event in client(fake).transcribe_stream(
            audio, {"model": "whisper-large-v3-turbo", "language": "en"}
        )
    ]
    kinds = [event.type for event in events]
    expect(kinds[-1] == "transcript.text.done", f"the last event: {kinds}")
    expect(set(kinds[:-1]) == {"transcript.text.delta"}, f"deltas first: {kinds}")
    done = events[-1]
    expect_equal(done.text, JFK_TEXT, "done.text")
    expect(done.duration > 0 and done.language == "en", f"done: {done}")
    if deltas_add_up:
        expect_equal("".join(event.delta for event in events[:-1]), JFK_TEXT, "joined deltas")


async def stream_in_named_events(fake):
    # The SDK reads only frames that start with `data:`: the deltas of named events are lost
    # to it, the final text is not.
    events = [
        event
        async for event in client(fake).transcribe_stream(audio, {"model": "whisper-1"})
    ]
    expect_equal([event.type for event in events], ["transcript.text.done"], "events read")
    expect_equal(events[0].text, JFK_TEXT, "done.text")


async def stream_aggregated_by_transcribe(fake):
    response = await client(fake).transcribe(audio, {"model": "stt-1b-en_fr"})
    expect_equal(response.text, JFK_TEXT, "transcribe() over the stream")


async def every_known_model_is_routed_and_served(fake):
    polargrid.client.AUTOROUTER_URL = fake.base_url
    for model in STTModel:
        routed = await PolarGrid.create(api_key=fake.key, routing_model=model.value)
        expect_equal(routed._base_url, fake.base_url, f"the edge routed for {model.value}")
        response = await routed.transcribe(audio, {"model": model.value, "stream": False})
        expect_equal(response.text, JFK_TEXT, f"sync with {model.value}")


checks.run("async job with the SDK's default model (transcribe_and_wait)",
           async_job_with_the_sdk_default_model, "polargrid", "slow-job")
checks.run("async job in verbose_json", async_job_in_verbose_json, "polargrid")
checks.run("a failed async job raises the SDK's error", failed_job_raises_the_sdks_error,
           "polargrid", "job-failed")
checks.run("sync in json, verbose_json, text, srt and vtt", sync_in_every_format, "polargrid")
checks.run("stream with whole-hypothesis deltas (transcribe_stream)",
           lambda fake: stream_events(fake, deltas_add_up=False), "polargrid")
checks.run("stream with incremental deltas that add up",
           lambda fake: stream_events(fake, deltas_add_up=True), "polargrid", "delta-increment")
checks.run("stream in named events without [DONE]", stream_in_named_events, "polargrid",
           "named-events")
checks.run("stream aggregated by transcribe()", stream_aggregated_by_transcribe, "polargrid")
checks.run("autorouter and edge for every model id the SDK knows",
           every_known_model_is_routed_and_served, "polargrid")
