//! Built-in commands of a headless Linux node: `system.which`, `system.notify`, `device.info`,
//! `system.run`, plus the `node.host.stats` collector.

mod capped_output;
mod commands;
mod device_info;
mod notify;
mod params;
mod path_search;
mod run;
mod stats;
mod which;

pub use commands::{HOST_COMMANDS, HostCommands, HostConfig};
pub use path_search::find_executable;
pub use stats::{HOST_STATS_EVENT, HOST_STATS_INTERVAL, HostStats};
