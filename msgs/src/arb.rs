//! Property-test strategies the generated types use for their fields.

use alloc::string::String;
use alloc::vec::Vec;

use proptest::prelude::*;

/// Finite floats of every magnitude (JSON, and so the Python oracle, has no
/// NaN or infinity; those are covered by a dedicated test).
pub fn f64() -> impl Strategy<Value = f64> {
    prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO
}

/// Finite `f32`s, like [`f64()`].
pub fn f32() -> impl Strategy<Value = f32> {
    prop::num::f32::NORMAL | prop::num::f32::SUBNORMAL | prop::num::f32::ZERO
}

/// Short strings of any Unicode except NUL, which terminates CDR strings.
pub fn string() -> impl Strategy<Value = String> {
    "[^\u{0}]{0,12}"
}

/// A fixed-size array of `N` elements from `element`.
pub fn array<T: core::fmt::Debug, const N: usize>(
    element: impl Strategy<Value = T>,
) -> impl Strategy<Value = [T; N]> {
    proptest::collection::vec(element, N).prop_map(|v: Vec<T>| match v.try_into() {
        Ok(array) => array,
        Err(_) => unreachable!("vec strategy yields exactly N elements"),
    })
}
