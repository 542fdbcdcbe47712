//! The local engine: whisper.cpp through whisper-rs.
