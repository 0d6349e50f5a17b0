//! Per-packet cost of the switch's classify path on a 300-byte UDP frame
//! (Ethernet + IPv4 + UDP + 258-byte ISO 8583 payload).
//!
//! Budget for scale: 2 GHz / 5 Mpps per core = 400 cycles = 200 ns for the
//! whole packet, ISO 8583 decode and routing included; the header walk
//! should take a small slice of that.
//!
//! Run: `cargo bench -p wire --bench net -- --warm-up-time 1 --measurement-time 3`
//! Criterion prints time per packet and packets/s (throughput in elements).

use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wire::net::ethernet::{self, Address, EtherType};
use wire::net::headers::{Checks, Headers};
use wire::net::rewrite::{self, Endpoints};
use wire::net::{checksum, ipv4, udp};

const FRAME_LEN: usize = 300;

fn frame_300() -> Vec<u8> {
    let mut frame = vec![0u8; FRAME_LEN];
    ethernet::Repr {
        src_addr: Address([2, 0, 0, 0, 0, 1]),
        dst_addr: Address([2, 0, 0, 0, 0, 10]),
        vlan: None,
        ethertype: EtherType::Ipv4,
    }
    .emit(&mut ethernet::Frame::new_unchecked(&mut frame[..]));
    let (src, dst) = (
        Ipv4Addr::new(192, 168, 10, 1),
        Ipv4Addr::new(192, 168, 10, 254),
    );
    let udp_len = FRAME_LEN - 34;
    ipv4::Repr {
        src_addr: src,
        dst_addr: dst,
        protocol: ipv4::Protocol::Udp,
        payload_len: udp_len,
        ttl: 64,
    }
    .emit(&mut ipv4::Packet::new_unchecked(&mut frame[14..]));
    for (i, byte) in frame[42..].iter_mut().enumerate() {
        *byte = b'0' + (i % 10) as u8;
    }
    udp::Repr {
        src_port: 40000,
        dst_port: 8583,
        payload_len: udp_len - 8,
    }
    .emit(&mut udp::Packet::new_unchecked(&mut frame[34..]), src, dst);
    frame
}

fn bench_net(c: &mut Criterion) {
    let frame = frame_300();
    assert!(Headers::parse(&frame).is_ok());
    let mut group = c.benchmark_group("net_300B_udp");
    group.throughput(Throughput::Elements(1));

    group.bench_function("headers_parse_all_checksums", |b| {
        b.iter(|| Headers::parse(black_box(&frame)))
    });
    group.bench_function("headers_parse_no_checksums", |b| {
        b.iter(|| Headers::parse_with(black_box(&frame), Checks::NONE))
    });
    group.bench_function("checksum_data_266B", |b| {
        b.iter(|| checksum::data(black_box(&frame[34..])))
    });

    let headers = Headers::parse(&frame).unwrap();
    let to = Endpoints {
        src_mac: Address([2, 0, 0, 0, 0, 10]),
        dst_mac: Address([2, 0, 0, 0, 0, 32]),
        src: SocketAddrV4::new(Ipv4Addr::new(10, 20, 0, 1), 50001),
        dst: SocketAddrV4::new(Ipv4Addr::new(10, 30, 0, 7), 8583),
    };
    let back = Endpoints {
        src_mac: Address([2, 0, 0, 0, 0, 1]),
        dst_mac: Address([2, 0, 0, 0, 0, 10]),
        src: SocketAddrV4::new(Ipv4Addr::new(192, 168, 10, 1), 40000),
        dst: SocketAddrV4::new(Ipv4Addr::new(192, 168, 10, 254), 8583),
    };
    let mut work = frame.clone();
    // Two rewrites per iteration (there and back) keep the frame stable.
    group.bench_function("readdress_udp_x2", |b| {
        b.iter(|| {
            let _ = rewrite::readdress_udp(black_box(&mut work), &headers, &to).unwrap();
            let _ = rewrite::readdress_udp(black_box(&mut work), &headers, &back).unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, bench_net);
criterion_main!(benches);
