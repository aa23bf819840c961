//! The reference fusion module.
#![no_std]
