//! Model-based testing of the FluffleFS core: a reference model of POSIX
//! semantics ([`reference`]), random operation sequences ([`ops`]), and a
//! driver that runs them on both and compares everything ([`driver`]).
#![allow(dead_code)]

pub mod core_adapter;
pub mod driver;
pub mod ops;
pub mod reference;
pub mod rng;
pub mod self_target;
pub mod target;
