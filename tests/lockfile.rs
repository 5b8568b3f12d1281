//! The dependency pairing the crate relies on, read from Cargo.lock: exactly one version of each
//! CubeCL crate (0.10: 0.11's CUDA backend downloads LLVM at build time and cannot build
//! offline), and Burn 0.21, the release built on CubeCL 0.10.

use std::collections::BTreeMap;

/// `name -> versions` for every package in Cargo.lock.
fn locked_packages() -> BTreeMap<String, Vec<String>> {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
        .expect("Cargo.lock is committed");
    let mut packages: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            packages
                .entry(n)
                .or_default()
                .push(v.trim_matches('"').to_string());
        }
    }
    packages
}

#[test]
fn one_cubecl_version_and_the_matching_burn() {
    let packages = locked_packages();
    let cubecl: Vec<_> = packages
        .iter()
        .filter(|(n, _)| n.starts_with("cubecl"))
        .collect();
    assert!(!cubecl.is_empty(), "no cubecl crates in Cargo.lock");
    for (name, versions) in cubecl {
        assert_eq!(versions.len(), 1, "{name}: several versions {versions:?}");
        // `-sys` binding crates follow the vendor library's version (cubecl-hip-sys: ROCm).
        if !name.ends_with("-sys") {
            assert_eq!(versions, &["0.10.0"], "{name}: expected exactly 0.10.0");
        }
    }
    assert_eq!(packages.get("burn"), Some(&vec!["0.21.0".to_string()]));
    assert_eq!(
        packages.get("burn-cubecl"),
        Some(&vec!["0.21.0".to_string()])
    );
}
