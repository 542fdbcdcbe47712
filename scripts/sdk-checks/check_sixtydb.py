"""The official 60db SDK (sixtydb) against `verbatim dev fake-server 60db`: its one STT call,
`speech_to_text` (REST; the SDK has no live STT), read the way its code returns the body
(flat) and the way its README reads it (`result["data"]["text"]`).

The SDK names the file part `audio`, always with Content-Type audio/mpeg, and sends the
caller's path as the file name: the fake must take the first two and refuse the third.
"""

import os

import requests
from sixtydb import SixtyDBClient

from driver_support import JFK_TEXT, Checks, expect, expect_equal

checks = Checks("60db")


def client(fake):
    return SixtyDBClient(api_key=fake.key, base_url=fake.base_url)


def opened_by_name():
    """The clip opened by its bare name (from its folder), so the SDK sends no path."""
    folder, name = os.path.split(os.path.abspath(checks.audio))
    os.chdir(folder)
    return open(name, "rb")


def flat_body_as_the_code_returns_it(fake):
    with opened_by_name() as audio:
        result = client(fake).speech_to_text(audio, language="en")
    expect_equal(result["text"], JFK_TEXT, "text")
    expect_equal(len(result["segments"]), 3, "segments")
    expect(result["duration_sec"] > 10, f"duration_sec: {result}")


def every_option_the_sdk_sends(fake):
    with opened_by_name() as audio:
        result = client(fake).speech_to_text(
            audio, language="en", diarize=True, context="Inaugural address"
        )
    speakers = {turn["speaker"] for segment in result["segments"] for turn in segment["speakers"]}
    expect_equal(speakers, {"SPEAKER_00", "SPEAKER_01"}, "speakers")
    expect_equal(result["warning_codes"], ["llm_refinement_not_in_plan"], "warning codes")


def wrapped_body_as_the_readme_reads_it(fake):
    with opened_by_name() as audio:
        result = client(fake).speech_to_text(audio)
    expect(result.get("success"), f"success: {result}")
    expect_equal(result["data"]["text"], JFK_TEXT, 'result["data"]["text"]')


def a_local_path_as_file_name_is_refused(fake):
    try:
        client(fake).speech_to_text(os.path.abspath(checks.audio), language="en")
    except requests.HTTPError as error:
        expect_equal(error.response.status_code, 400, "status")
        expect("local path" in error.response.json()["message"], error.response.text)
        return
    raise AssertionError("the fake took a file name carrying the local path")


checks.run("speech_to_text, flat body", flat_body_as_the_code_returns_it, "60db")
checks.run("speech_to_text with language, diarize and context", every_option_the_sdk_sends, "60db")
checks.run("speech_to_text, body wrapped in success/data (as the README reads it)",
           wrapped_body_as_the_readme_reads_it, "60db", "wrapped")
checks.run("speech_to_text against an endpoint that wants the file in `audio`",
           flat_body_as_the_code_returns_it, "60db", "audio-field")
checks.run("the fake refuses the local path the SDK sends as file name",
           a_local_path_as_file_name_is_refused, "60db")
