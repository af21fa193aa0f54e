//! The helper-function interface the embedder implements.
//!
//! A program calls helper `id` with `CALL imm=id, src=0`; arguments are in
//! r1..r5 and the result goes to r0. The embedder (the CSD layer) decides
//! what ids exist: it lists them in [`VerifyConfig`](super::verifier::VerifyConfig)
//! for the verifier and implements [`Helpers`] for the run. Helpers get the
//! run's [`Memory`] so they can copy to and from program memory through the
//! same region checks, and register new regions that stay valid for the
//! rest of the run.

use super::error::HelperError;
use super::memory::Memory;

/// A set of helper functions for runs whose memory lives for `'a`.
pub trait Helpers<'a> {
    /// Runs helper `id` with arguments r1..r5; the result becomes r0. An
    /// error ends the run with [`RunErrorKind::Helper`](super::error::RunErrorKind::Helper).
    fn call(&mut self, id: u32, args: [u64; 5], mem: &mut Memory<'a>) -> Result<u64, HelperError>;

    /// Called every [`TICK_INSNS`](super::interpreter::TICK_INSNS)
    /// instructions of a run, so a long computation that calls no helper
    /// still lets the embedder yield the CPU (`cond_resched()` in the
    /// kernel) or stop the run (an error ends it like a failed helper).
    fn tick(&mut self) -> Result<(), HelperError> {
        Ok(())
    }
}

/// No helpers at all: every call fails.
pub struct NoHelpers;

/// The error [`NoHelpers`] and [`HelperTable`] return for an id they lack.
pub const UNKNOWN_HELPER: HelperError = HelperError { errno: 38, reason: "unknown helper id" };

impl<'a> Helpers<'a> for NoHelpers {
    fn call(&mut self, _id: u32, _args: [u64; 5], _mem: &mut Memory<'a>) -> Result<u64, HelperError> {
        Err(UNKNOWN_HELPER)
    }
}

/// A helper as a plain function over embedder state `S`.
pub type HelperFn<'a, S> = fn(&mut S, [u64; 5], &mut Memory<'a>) -> Result<u64, HelperError>;

/// A table of `(id, function)` pairs over embedder state `S`: the simple
/// way to provide helpers without writing a `match`.
pub struct HelperTable<'t, 'a, S> {
    /// The helpers, looked up by id (linear search: tables are small).
    pub entries: &'t [(u32, HelperFn<'a, S>)],
    /// State every helper of this run gets.
    pub state: &'t mut S,
}

impl<'t, 'a, S> HelperTable<'t, 'a, S> {
    /// Whether `id` is in the table.
    pub fn has(&self, id: u32) -> bool {
        self.entries.iter().any(|(i, _)| *i == id)
    }
}

impl<'t, 'a, S> Helpers<'a> for HelperTable<'t, 'a, S> {
    fn call(&mut self, id: u32, args: [u64; 5], mem: &mut Memory<'a>) -> Result<u64, HelperError> {
        match self.entries.iter().find(|(i, _)| *i == id) {
            Some((_, f)) => f(self.state, args, mem),
            None => Err(UNKNOWN_HELPER),
        }
    }
}
