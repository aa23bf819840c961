//! Fixed-size arrays (`float64[36]`) of any length: serde's own impls stop
//! at 32 elements. On the wire a fixed array is its elements, no length.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeTuple, Serializer};

/// Serde glue for `[T; N]` fields, used as `#[serde(with = "FixedArray")]`.
pub struct FixedArray;

impl FixedArray {
    /// Serializes the array as an N-tuple.
    #[inline]
    pub fn serialize<S: Serializer, T: Serialize, const N: usize>(
        array: &[T; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(N)?;
        for element in array {
            tuple.serialize_element(element)?;
        }
        tuple.end()
    }

    /// Deserializes an N-tuple into the array, failing on any other length.
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[T; N], D::Error> {
        deserializer.deserialize_tuple(N, ArrayVisitor::<T, N>(PhantomData))
    }
}

struct ArrayVisitor<T, const N: usize>(PhantomData<T>);

impl<'de, T: Deserialize<'de>, const N: usize> Visitor<'de> for ArrayVisitor<T, N> {
    type Value = [T; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an array of {N} elements")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[T; N], A::Error> {
        let mut filled = arrayvec::ArrayVec::<T, N>::new();
        while let Some(element) = seq.next_element()? {
            if filled.try_push(element).is_err() {
                return Err(de::Error::invalid_length(N + 1, &self));
            }
        }
        filled
            .into_inner()
            .map_err(|partial| de::Error::invalid_length(partial.len(), &self))
    }
}
