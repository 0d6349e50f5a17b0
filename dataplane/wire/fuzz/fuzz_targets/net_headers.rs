//! Drives every packet view over arbitrary bytes: no input may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wire::net::ethernet;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = ethernet::Frame::new_checked(data) {
        let _ = (frame.dst_addr(), frame.src_addr(), frame.vlan_tag());
        let _ = (frame.payload_ethertype(), frame.payload().len());
        let _ = ethernet::Repr::parse(&frame);
    }
});
