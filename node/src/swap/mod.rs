//! Hot swap of the fusion module.

pub mod signing;
