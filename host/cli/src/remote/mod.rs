//! The client of a box's HTTPS API: log in once (the certificate pinned on
//! first use, or trusted through a CA file), then script the box.

mod accounts;
mod apply;
mod channels;
mod client;
mod lifecycle;
mod login;
mod output;
mod pipelines;
mod plugins;
mod session;
mod system;
mod trust;
mod update;

pub use accounts::{Tokens, Users};
pub use channels::Command as Channels;
pub use login::Login;
pub use pipelines::Command as Pipelines;
pub use plugins::Command as Plugins;
pub use system::{Audit, Events, Flows, Tls};
pub use update::Command as Update;

pub use accounts::{tokens, users};
pub use login::{login, logout};
pub use system::{audit, events, flows, health, metrics, status, tls};
pub use update::{reboot, update};

/// The client of the saved session's box.
pub fn connect() -> anyhow::Result<client::Client> {
    client::Client::from_session(&session::Session::load()?)
}

/// Runs a `plugins` command.
pub fn plugins(client: &client::Client, command: Plugins, json: bool) -> anyhow::Result<()> {
    plugins::run(client, command, json)
}

/// Runs a `pipelines` command.
pub fn pipelines(client: &client::Client, command: Pipelines, json: bool) -> anyhow::Result<()> {
    pipelines::run(client, command, json)
}

/// Runs a `channels` command.
pub fn channels(client: &client::Client, command: Channels, json: bool) -> anyhow::Result<()> {
    channels::run(client, command, json)
}
