//! The loop every processing node runs: read a grain, call the plugin (or
//! not, as the supervisor says), write the result at the same index.

use super::input::{Grain, Input};
use super::node::{Action, NodeContext, NodeState, POLL, Supervisor};
use super::spec::OnFailure;
use stagebox_flow::{DiscreteWriter, FlowError};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

/// A failed call: a short kind (`trap`, `timeout`, `bad_output`, …) and
/// the message.
pub type Failure = (&'static str, String);

/// What a kind of processing node does with a grain.
pub trait Processor {
    /// Calls the plugin on `grain` (which it may borrow from, but must give
    /// back whole): the output payload, or `None` when the plugin dropped
    /// the grain.
    fn call(&mut self, ctx: &NodeContext, grain: &mut Grain) -> Result<Option<Vec<u8>>, Failure>;

    /// Writes `payload` as the output grain for `grain`.
    fn write(&self, writer: &mut DiscreteWriter, grain: &Grain, payload: &[u8]) -> Result<(), FlowError>;

    /// Whether `grain` holds nothing to process (it is passed on invalid).
    fn is_empty(&self, _grain: &Grain) -> bool {
        false
    }
}

/// Runs `processor` on every grain of `input` until asked to stop, under
/// the failure policy.
pub fn run(
    ctx: &NodeContext,
    mut processor: impl Processor,
    mut input: Input,
    mut writer: DiscreteWriter,
    policy: OnFailure,
) -> Result<(), FlowError> {
    let mut supervisor = Supervisor::new(policy);
    ctx.status.set_state(NodeState::Running);
    while !ctx.stopping() {
        let Some(mut grain) = input.next(POLL, &ctx.status) else { continue };
        let action = if grain.invalid || processor.is_empty(&grain) {
            Action::Invalid
        } else {
            supervisor.action(Instant::now())
        };
        let passed = match action {
            Action::PassThrough => true,
            Action::Invalid => false,
            Action::Call => match processor.call(ctx, &mut grain) {
                Ok(out) => {
                    if let Some(out) = out {
                        processor.write(&mut writer, &grain, &out)?;
                        ctx.status.grains_out.fetch_add(1, Relaxed);
                        ctx.status.last_index.store(grain.index, Relaxed);
                    }
                    if supervisor.succeeded() {
                        ctx.restarted();
                    }
                    continue;
                }
                Err((kind, error)) => {
                    ctx.plugin_failed(&mut supervisor, kind, &error, grain.index) == NodeState::Bypassed
                }
            },
        };
        if passed {
            processor.write(&mut writer, &grain, &grain.data)?;
            ctx.status.grains_out.fetch_add(1, Relaxed);
        } else {
            writer.grant(grain.index)?.commit_invalid();
            ctx.status.invalid_out.fetch_add(1, Relaxed);
        }
    }
    Ok(())
}
