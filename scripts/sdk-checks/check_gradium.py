"""The official Gradium SDK (gradium) against `verbatim dev fake-server gradium`.

The SDK's only speech-to-text is the WebSocket stream (`wss://…/api/speech/asr`: `setup`, then
base64 `audio` frames and `end_of_stream`; `ready`, `text`, `end_text`, `step` back); it has no
REST call, so the REST fake has nothing to be held against here.

THE PLACE FOR THE GRADIUM SDK CHECK: the WebSocket fake is being written in
src/dev/fakes/gradium_ws.rs. When `dev fake-server gradium` serves it, replace the skip below
with `checks.run("WebSocket STT", websocket_stt, "gradium")`, where `websocket_stt(fake)`
streams the clip through the SDK (as 24 kHz PCM frames and as WAV bytes, its two inputs) and
expects the three JFK phrases with their times.
"""

from driver_support import Checks

checks = Checks("gradium")
checks.skip("WebSocket STT", "waiting for the WebSocket fake (src/dev/fakes/gradium_ws.rs)")
