//! A tiny deterministic generator (64-bit LCG, high bits out): fixed seeds
//! give the same numbers on every target, which RANSAC's sampling needs
//! and the tests use for repeatable noise.

/// Knuth's MMIX linear congruential generator.
#[derive(Debug, Clone)]
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    /// The next 31 high bits.
    pub(crate) fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        self.next_u32() % n
    }

    /// A number in the open interval (0, 1).
    #[cfg(test)]
    pub(crate) fn unit(&mut self) -> f64 {
        (f64::from(self.next_u32()) + 0.5) / (1u64 << 31) as f64
    }

    /// A standard normal number (Box-Muller).
    #[cfg(test)]
    pub(crate) fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit(), self.unit());
        crate::geometry::sqrt(-2.0 * libm::log(u)) * libm::cos(core::f64::consts::TAU * v)
    }
}
