//! Finds the system DPDK with pkg-config, compiles the fast-path shim and
//! generates bindings with bindgen.

use std::env;
use std::path::PathBuf;

const INSTALL_HINT: &str =
    "libdpdk (DPDK 22.11) not found by pkg-config: install it with `apt-get install -y dpdk dpdk-dev libdpdk-dev pkg-config clang libclang-dev` (or run `make deps`)";

fn main() {
    println!("cargo:rerun-if-changed=shim/shim.c");
    println!("cargo:rerun-if-changed=shim/shim.h");
    println!("cargo:rerun-if-changed=shim/baseline.c");
    println!("cargo:rerun-if-changed=shim/wrapper.h");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let dpdk = match pkg_config::Config::new()
        .atleast_version("22.11")
        .cargo_metadata(false)
        .probe("libdpdk")
    {
        Ok(lib) => lib,
        Err(_) => {
            eprintln!("error: {INSTALL_HINT}");
            std::process::exit(1);
        }
    };

    // The pkg-config line for libdpdk carries `-include rte_config.h` and
    // `-march=corei7`, which the pkg-config crate drops: read the raw cflags.
    let cflags = pkg_config_output(&["--cflags", "libdpdk"]);

    let mut build = cc::Build::new();
    build
        .file("shim/shim.c")
        .file("shim/baseline.c")
        .opt_level(3)
        .warnings(true);
    for flag in split_flags(&cflags) {
        build.flag(&flag);
    }
    build.compile("clearway_dpdk_shim");

    // Link every DPDK library pkg-config names, plus the ring PMD, which the
    // pkg-config file leaves out although rte_eth_from_rings() lives there.
    for path in &dpdk.link_paths {
        println!("cargo:rustc-link-search=native={}", path.display());
    }
    for lib in &dpdk.libs {
        println!("cargo:rustc-link-lib=dylib={lib}");
    }
    println!("cargo:rustc-link-lib=dylib=rte_net_ring");
    println!("cargo:rustc-link-lib=dylib=rte_bus_vdev");

    let mut builder = bindgen::Builder::default()
        .header("shim/wrapper.h")
        .clang_args(split_flags(&cflags))
        .clang_arg("-Ishim")
        .allowlist_function("rte_.*")
        .allowlist_function("clw_.*")
        .allowlist_type("rte_.*")
        .allowlist_var("RTE_.*")
        .allowlist_var("ETH_.*")
        .allowlist_var("E[A-Z]+")
        .allowlist_var("RING_F_.*")
        .derive_default(true)
        .layout_tests(false)
        .generate_comments(false)
        .prepend_enum_name(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    // Packed structs whose layout bindgen cannot express; we never touch
    // their fields, so opaque blobs of the right size are enough.
    for ty in [
        "rte_l2tpv2_.*",
        "rte_gtp_.*",
        "rte_arp_.*",
        "rte_ether_addr",
        "rte_ipv6_.*",
        "rte_ipv4_hdr",
        "rte_flow_item_.*",
        "rte_ecpri_.*",
        "rte_ppp_.*",
        "rte_mpls_.*",
    ] {
        builder = builder.opaque_type(ty);
    }
    let bindings = builder
        .generate()
        .unwrap_or_else(|e| panic!("bindgen over the DPDK headers failed: {e}"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("writing bindings.rs into OUT_DIR");
}

fn pkg_config_output(args: &[&str]) -> String {
    let out = std::process::Command::new(env::var("PKG_CONFIG").unwrap_or("pkg-config".into()))
        .args(args)
        .output()
        .unwrap_or_else(|_| {
            eprintln!("error: {INSTALL_HINT}");
            std::process::exit(1)
        });
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Splits a cflags line, keeping `-include FILE` together as two arguments.
fn split_flags(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}
