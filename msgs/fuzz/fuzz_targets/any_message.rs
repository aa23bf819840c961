//! Every message type the crate knows: the first byte picks the type, the
//! rest is decoded as that type; values that decode must round-trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

macro_rules! decoders {
    ($($ty:path),* $(,)?) => {
        /// One decoder per message type, in `for_all_messages!` order.
        const DECODERS: &[fn(&[u8])] = &[$(fusion_msgs_fuzz::roundtrip::<$ty>),*];
    };
}
fusion_msgs::for_all_messages!(decoders);

fuzz_target!(|data: &[u8]| {
    let Some((&selector, message)) = data.split_first() else {
        return;
    };
    DECODERS[usize::from(selector) % DECODERS.len()](message);
});
