"""What every SDK driver shares: a fake service started from the verbatim binary, and one
printed line per check ("ok SDK: what" or "FAIL SDK: what: why").

A driver is run as `python check_SDK.py VERBATIM AUDIO`: VERBATIM is the binary whose
`dev fake-server` plays the service, AUDIO the JFK clip (shared/testdata/speech/jfk.wav).
"""

import asyncio
import inspect
import os
import re
import signal
import subprocess
import sys
import tempfile

# The fakes' scripted transcript (src/dev/fakes/mod.rs, JFK_PHRASES).
JFK_TEXT = (
    "And so, my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)


class FakeService:
    """`verbatim dev fake-server SERVICE --scenario SCENARIO` on a free port, read from its
    banner: `base_url` and `key`. Stops (Ctrl-C) when the `with` block ends."""

    def __init__(self, verbatim, service, scenario="normal"):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [verbatim, "dev", "fake-server", service, "--port", "0", "--scenario", scenario],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.base_url = None
        self.key = None
        for line in self.process.stdout:
            listening = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if listening:
                self.base_url = listening.group(1)
            exported = re.match(r"\s*export (\w+_API_KEY)=(\S+)", line)
            if exported:
                self.key = exported.group(2)
            if line.startswith("Press Ctrl-C"):
                break
        if not (self.base_url and self.key):
            self.stop()
            raise RuntimeError(f"the fake {service} did not start: {self.requests()}")

    def requests(self):
        """The fake's log of the requests it received, one line each."""
        self.log.seek(0)
        return [line.strip() for line in self.log if line.strip()]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()


class Checks:
    """Runs checks of one SDK and prints a line for each."""

    def __init__(self, sdk):
        self.sdk = sdk
        self.verbatim, self.audio = sys.argv[1], sys.argv[2]
        self.failed = 0

    def run(self, what, check, service, scenario="normal"):
        """Runs `check(fake)` (a function or a coroutine function) against a fresh fake
        `service` playing `scenario`. A check passes by returning; it fails by raising."""
        try:
            with FakeService(self.verbatim, service, scenario) as fake:
                try:
                    result = check(fake)
                    if inspect.iscoroutine(result):
                        asyncio.run(result)
                except Exception as error:
                    self.fail(what, error, fake.requests())
                    return
            print(f"ok {self.sdk}: {what}", flush=True)
        except Exception as error:
            self.fail(what, error, [])

    def fail(self, what, error, requests):
        self.failed += 1
        reason = " ".join(f"{type(error).__name__}: {error}".split())[:400]
        print(f"FAIL {self.sdk}: {what}: {reason}", flush=True)
        for line in requests[-5:]:
            print(f"    {line}", flush=True)

    def skip(self, what, why):
        print(f"skip {self.sdk}: {what}: {why}", flush=True)


def expect(condition, message):
    """Fails the check with `message` unless `condition` holds."""
    if not condition:
        raise AssertionError(message)


def expect_equal(actual, expected, what):
    expect(actual == expected, f"{what}: expected {expected!r}, got {actual!r}")
