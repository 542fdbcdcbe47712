//! The engine's enums on the command line. The engine knows nothing of clap, so each of its
//! enums lists its values, their ids and a line of help; [`parser`] turns that list into a
//! clap value parser with the possible values, help and errors a `ValueEnum` derive would
//! give. The variants are written once, in the engine.

use crate::engine::SpeakerMode;
use crate::engine::cloud::{CloudService, PolarGridMode, PolarGridResponseFormat};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

/// An engine enum the command line takes by id.
pub trait Choice: Copy + Send + Sync + 'static {
    /// Every value, in the order help lists them.
    fn all() -> &'static [Self];
    /// The id typed on the command line.
    fn id(self) -> &'static str;
    /// A line of help shown with the value in `--help`.
    fn help(self) -> Option<&'static str>;
}

/// A clap value parser that takes exactly the ids of `T`'s values.
pub fn parser<T: Choice>() -> impl TypedValueParser<Value = T> {
    let possible = T::all().iter().map(|&value| {
        let entry = PossibleValue::new(value.id());
        match value.help() {
            Some(help) => entry.help(help),
            None => entry,
        }
    });
    PossibleValuesParser::new(possible).try_map(|id: String| {
        T::all()
            .iter()
            .copied()
            .find(|value| value.id() == id)
            .ok_or_else(|| format!("unknown value '{id}'"))
    })
}

impl Choice for CloudService {
    fn all() -> &'static [Self] {
        &CloudService::ALL
    }
    fn id(self) -> &'static str {
        CloudService::id(self)
    }
    fn help(self) -> Option<&'static str> {
        Some(self.summary())
    }
}

impl Choice for SpeakerMode {
    fn all() -> &'static [Self] {
        &SpeakerMode::ALL
    }
    fn id(self) -> &'static str {
        SpeakerMode::id(self)
    }
    fn help(self) -> Option<&'static str> {
        Some(self.summary())
    }
}

impl Choice for PolarGridMode {
    fn all() -> &'static [Self] {
        &PolarGridMode::ALL
    }
    fn id(self) -> &'static str {
        PolarGridMode::id(self)
    }
    fn help(self) -> Option<&'static str> {
        Some(self.summary())
    }
}

impl Choice for PolarGridResponseFormat {
    fn all() -> &'static [Self] {
        &PolarGridResponseFormat::ALL
    }
    fn id(self) -> &'static str {
        self.as_query_value()
    }
    fn help(self) -> Option<&'static str> {
        self.summary()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Args {
        #[arg(long, value_parser = parser::<PolarGridMode>())]
        mode: Option<PolarGridMode>,
        #[arg(long, value_parser = parser::<CloudService>(), default_value = "60db")]
        service: CloudService,
    }

    #[test]
    fn ids_parse_to_their_values_and_others_are_refused_with_the_list() {
        let args = Args::try_parse_from(["t", "--mode", "stream"]).unwrap();
        assert_eq!((args.mode, args.service), (Some(PolarGridMode::Stream), CloudService::SixtyDb));
        let error = Args::try_parse_from(["t", "--mode", "bogus"]).unwrap_err().to_string();
        assert!(error.contains("[possible values: async, sync, stream]"), "{error}");
        for service in CloudService::ALL {
            let args = Args::try_parse_from(["t", "--service", service.id()]).unwrap();
            assert_eq!(args.service, service);
        }
    }
}
