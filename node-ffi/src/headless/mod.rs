//! `clawlet node run`: a headless Linux node that serves the host commands until stopped.

mod error;
mod options;
mod origin_alias;
mod progress;
mod run;

pub use error::HeadlessError;
pub use options::{HeadlessExit, HeadlessOptions};
pub use run::run_headless;
