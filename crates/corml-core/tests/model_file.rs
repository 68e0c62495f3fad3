//! Model files: save → load (read or mapped) gives the same model for every algorithm, and every
//! kind of damaged, foreign, older or newer file fails with a coded error instead of a panic or a
//! huge allocation.

mod common;

use std::path::{Path, PathBuf};

use corml_core::dataset::Interactions;
use corml_core::files::FileMode;
use corml_core::model::file::{FORMAT_VERSION, HEADER_LEN, MAGIC};
use corml_core::model::{gfcf, CormlParams, EaseParams, Filters, GfcfParams, Model};
use corml_core::progress::Control;
use corml_core::{Device, ErrorCode};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xxhash_rust::xxh3::xxh3_64;

fn data(users: usize, items: usize, seed: u64) -> Interactions {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut us, mut is) = (Vec::new(), Vec::new());
    for u in 0..users {
        for i in 0..items {
            if rng.random::<f64>() < if (u + i) % 3 == 0 { 0.3 } else { 0.05 } {
                us.push(format!("user-{u}"));
                is.push(format!("item-{i}"));
            }
        }
    }
    Interactions::from_ids(&us, &is).unwrap()
}

fn models() -> Vec<Model> {
    let corml = CormlParams {
        eigenvectors: 6,
        device: Device::Cpu,
        ..Default::default()
    };
    let ease = EaseParams {
        device: Device::Cpu,
        ..Default::default()
    };
    common::fit_all(&data(60, 40, 3), &[corml], &ease)
}

/// A fresh empty directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("model-file-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every user's full score row and top 10, for comparing two models exactly.
fn fingerprint_of_behaviour(m: &Model) -> (Vec<f32>, Vec<Vec<(u32, u32)>>) {
    let users: Vec<u32> = (0..m.users().len() as u32).collect();
    let filters = Filters {
        filter_seen: true,
        ..Default::default()
    };
    let top = m
        .recommend_users(&users, 10, &filters)
        .unwrap()
        .into_iter()
        .map(|row| row.iter().map(|s| (s.item, s.score.to_bits())).collect())
        .collect();
    let scores = m.score(m.train_matrix()).unwrap();
    (scores, top)
}

fn code(result: corml_core::Result<Model>) -> ErrorCode {
    result.expect_err("the bytes must be rejected").code()
}

#[test]
fn save_then_load_gives_identical_recommendations_for_every_user() {
    let dir = scratch("round-trip");
    for model in models() {
        let path = dir.join(format!("{}.corml", model.algorithm().name()));
        model.save(&path, FileMode::Default).unwrap();
        let loaded = Model::load(&path).unwrap();
        assert_eq!(loaded.algorithm().name(), model.algorithm().name());
        assert_eq!(loaded.info(), model.info());
        assert_eq!(loaded.fingerprint(), model.fingerprint());
        assert_eq!(loaded.users(), model.users());
        assert_eq!(loaded.items(), model.items());
        let (a, b) = (
            fingerprint_of_behaviour(&model),
            fingerprint_of_behaviour(&loaded),
        );
        assert!(a
            .0
            .iter()
            .zip(&b.0)
            .all(|(x, y)| x.to_bits() == y.to_bits()));
        assert_eq!(a.1, b.1, "{}", model.algorithm().name());

        let bytes = model.to_bytes().unwrap();
        assert_eq!(bytes, std::fs::read(&path).unwrap());
        let from_bytes = Model::from_bytes(&bytes).unwrap();
        assert_eq!(fingerprint_of_behaviour(&from_bytes).1, a.1);

        let mapped = Model::map(&path).unwrap();
        assert!(mapped.is_mapped() && !loaded.is_mapped() && !model.is_mapped());
        assert_eq!(fingerprint_of_behaviour(&mapped), b);
        assert_eq!(
            mapped.to_bytes().unwrap(),
            bytes,
            "a mapped model saves the same bytes"
        );
    }
    // Nothing but the models is left in the directory (no temporary files).
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);
}

#[test]
fn the_fingerprint_follows_the_training_data() {
    let ctl = Control::default();
    let params = GfcfParams {
        eigenvectors: 4,
        ..Default::default()
    };
    let a = gfcf::fit(&data(30, 20, 1), &params, &ctl).unwrap();
    let b = gfcf::fit(&data(30, 20, 1), &params, &ctl).unwrap();
    let c = gfcf::fit(&data(30, 20, 2), &params, &ctl).unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_ne!(a.fingerprint(), c.fingerprint());
}

#[test]
fn damaged_foreign_and_newer_files_fail_with_codes() {
    let model = models().remove(0);
    let bytes = model.to_bytes().unwrap();

    // Truncated anywhere: inside the magic, the header and the payload.
    for len in [
        0,
        3,
        8,
        20,
        HEADER_LEN,
        HEADER_LEN + 1,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        assert_eq!(
            code(Model::from_bytes(&bytes[..len])),
            ErrorCode::InvalidModelFile,
            "{len}"
        );
    }
    // Trailing garbage.
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"junk");
    assert_eq!(
        code(Model::from_bytes(&longer)),
        ErrorCode::InvalidModelFile
    );
    // Not a model at all.
    assert_eq!(
        code(Model::from_bytes(b"user\titem\n1\t2\n")),
        ErrorCode::InvalidModelFile
    );
    // One flipped bit anywhere in the payload: the checksum catches it.
    for at in [
        HEADER_LEN,
        HEADER_LEN + 17,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x10;
        assert_eq!(
            code(Model::from_bytes(&flipped)),
            ErrorCode::InvalidModelFile
        );
    }
    // The first format, from before files were laid out to be read in place.
    let mut older = bytes.clone();
    older[8..12].copy_from_slice(&1u32.to_le_bytes());
    let err = Model::from_bytes(&older).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnsupportedModelVersion);
    assert!(err.to_string().contains("train the model again"), "{err}");
    // A newer format version.
    let mut newer = bytes.clone();
    newer[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let err = Model::from_bytes(&newer).unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnsupportedModelVersion);
    assert!(err.to_string().contains("upgrade"), "{err}");
    // Format 0 and unknown flags.
    let mut zero = bytes.clone();
    zero[8..12].copy_from_slice(&0u32.to_le_bytes());
    assert_eq!(code(Model::from_bytes(&zero)), ErrorCode::InvalidModelFile);
}

/// A header that declares `len` payload bytes, followed by `payload`, with a correct checksum.
fn forged(len: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&xxh3_64(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

#[test]
fn lying_lengths_are_rejected_before_anything_is_allocated() {
    // A 1 GB declared payload in a 64-byte file.
    let err = Model::from_bytes(&forged(1 << 30, &[0; 32])).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModelFile);
    assert!(err.to_string().contains("truncated"), "{err}");

    // A payload with a valid checksum whose first string claims 2⁶² bytes.
    let mut payload = Vec::new();
    payload.extend_from_slice(&(1u64 << 62).to_le_bytes());
    payload.extend_from_slice(b"0.1.0");
    let err = Model::from_bytes(&forged(payload.len() as u64, &payload)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModelFile);

    // A real model whose user id bytes claim a huge length, checksum recomputed.
    let model = models().remove(2);
    let bytes = model.to_bytes().unwrap();
    let payload = &bytes[HEADER_LEN..];
    let names: usize = model.users().names().map(str::len).sum();
    let ids_at = find(payload, b"user-0");
    let len_at = payload[..ids_at]
        .windows(8)
        .rposition(|w| w == (names as u64).to_le_bytes())
        .expect("the id bytes' length before them");
    let mut forged_payload = payload.to_vec();
    forged_payload[len_at..len_at + 8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    let err = Model::from_bytes(&forged(payload.len() as u64, &forged_payload)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModelFile);
    assert!(err.to_string().contains("user ids"), "{err}");

    // A byte of the id bytes' alignment padding that is not zero.
    let mut padded = payload.to_vec();
    padded[ids_at - 1] = 1;
    let err = Model::from_bytes(&forged(payload.len() as u64, &padded)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModelFile);

    // Two ids made equal: the id table no longer finds each at its own index.
    let mut twins = payload.to_vec();
    let second = find(&twins, b"user-1");
    twins[second + 5] = b'0';
    let err = Model::from_bytes(&forged(payload.len() as u64, &twins)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModelFile);
    assert!(err.to_string().contains("id"), "{err}");

    // The same model with a NaN in its last array (GF-CF's R̃ᵀ), checksum recomputed.
    let mut nan = payload.to_vec();
    let last = nan.len() - 4;
    nan[last..].copy_from_slice(&f32::NAN.to_le_bytes());
    let err = Model::from_bytes(&forged(payload.len() as u64, &nan)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidModelFile);
    assert!(err.to_string().contains("not finite"), "{err}");
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present")
}

#[test]
fn saving_fails_cleanly_and_never_leaves_a_partial_file() {
    let dir = scratch("failures");
    let model = models().remove(1);
    // The target is a directory.
    let err = model.save(&dir, FileMode::Default).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    // The directory does not exist.
    let err = model
        .save(&dir.join("missing/model.corml"), FileMode::Default)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io);
    // Overwriting keeps a valid file at every moment: the old one stays until the rename.
    let path = dir.join("model.corml");
    model.save(&path, FileMode::Default).unwrap();
    let first = std::fs::read(&path).unwrap();
    model.save(&path, FileMode::Default).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), first);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    // Loading what is not there, or a directory.
    assert_eq!(code(Model::load(&dir.join("nope.corml"))), ErrorCode::Io);
    assert_eq!(code(Model::load(&dir)), ErrorCode::Io);
    assert_eq!(code(Model::map(&dir.join("nope.corml"))), ErrorCode::Io);
    assert_eq!(code(Model::map(&dir)), ErrorCode::Io);
}

#[test]
fn mapped_files_are_checked_like_read_ones() {
    let dir = scratch("mapped");
    let model = models().remove(0);
    let bytes = model.to_bytes().unwrap();
    let path = dir.join("model.corml");
    for (len, flip) in [
        (0, None),
        (HEADER_LEN - 1, None),
        (bytes.len() - 1, None),
        (bytes.len(), Some(bytes.len() / 2)),
    ] {
        let mut damaged = bytes[..len].to_vec();
        if let Some(at) = flip {
            damaged[at] ^= 0x01;
        }
        std::fs::write(&path, &damaged).unwrap();
        assert_eq!(
            code(Model::map(&path)),
            ErrorCode::InvalidModelFile,
            "{len} {flip:?}"
        );
        assert_eq!(code(Model::load(&path)), ErrorCode::InvalidModelFile);
    }
}

#[test]
fn a_mapped_model_keeps_its_file_when_a_save_replaces_it() {
    let dir = scratch("replaced");
    let mut all = models();
    let (first, second) = (all.remove(0), all.remove(0));
    let path = dir.join("model.corml");
    first.save(&path, FileMode::Default).unwrap();
    let mapped = Model::map(&path).unwrap();
    let before = fingerprint_of_behaviour(&mapped);
    second.save(&path, FileMode::Default).unwrap();
    assert_eq!(fingerprint_of_behaviour(&mapped), before);
    assert_eq!(mapped.algorithm().name(), first.algorithm().name());
    let replaced = Model::map(&path).unwrap();
    assert_eq!(replaced.algorithm().name(), second.algorithm().name());
}
