//! Either form of a program behind one interface, so an embedder can run
//! a [`Program`] on the checked interpreter or a [`Decoded`] one on the
//! pre-decoded interpreter through the same code path.

use super::decode::Decoded;
use super::error::RunError;
use super::fast::run_decoded;
use super::helpers::Helpers;
use super::interpreter::{run, Exit};
use super::memory::Memory;
use super::verifier::Program;

/// A program that can be run (see [`run`] for the arguments).
pub trait Runnable {
    /// Runs it with r1 = `r1`, at most `budget` instructions.
    fn run_on<'a, H: Helpers<'a> + ?Sized>(
        &self,
        mem: &mut Memory<'a>,
        helpers: &mut H,
        r1: u64,
        budget: u64,
    ) -> Result<Exit, RunError>;
}

impl Runnable for Program<'_> {
    fn run_on<'a, H: Helpers<'a> + ?Sized>(
        &self,
        mem: &mut Memory<'a>,
        helpers: &mut H,
        r1: u64,
        budget: u64,
    ) -> Result<Exit, RunError> {
        run(self, mem, helpers, r1, budget)
    }
}

impl Runnable for Decoded<'_> {
    fn run_on<'a, H: Helpers<'a> + ?Sized>(
        &self,
        mem: &mut Memory<'a>,
        helpers: &mut H,
        r1: u64,
        budget: u64,
    ) -> Result<Exit, RunError> {
        run_decoded(self, mem, helpers, r1, budget)
    }
}
