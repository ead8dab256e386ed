//! No input makes the reader panic: every fixture is fed truncated at many points, with bytes
//! flipped, and as random noise, as JSON, NDJSON and CSV. Every delivery is still accounted for.

mod common;

use std::path::Path;

use common::*;
use concord_import::Reader;

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

fn read_all_ways(bytes: &[u8]) {
    let catalogue = catalogue();
    let mut reader = Reader::new(&catalogue, options());
    let mut sink = Collect::default();
    let file = Path::new("fuzz");
    if let Ok(text) = std::str::from_utf8(bytes) {
        reader.read_json(text, file, &mut sink);
    }
    reader.read_ndjson(bytes, file, &mut sink);
    reader.read_csv(bytes, file, &mut sink);
    let summary = reader.summary();
    assert_eq!(summary.items + summary.rejected + summary.skipped, sink.events.len() as u64);
}

fn fixtures() -> Vec<Vec<u8>> {
    [
        "uk-core/gp-extract.json",
        "synthea/Jane_Doe_1961.json",
        "ndjson/Patient.ndjson",
        "ndjson/Observation.ndjson",
        "csv/patients.csv",
        "csv/observations.csv",
        "csv/encounters.csv",
        "bad/wrong-types.json",
    ]
    .iter()
    .map(|name| std::fs::read(fixture(name)).unwrap())
    .collect()
}

#[test]
fn truncations_never_panic() {
    for bytes in fixtures() {
        let step = (bytes.len() / 400).max(1);
        for end in (0..bytes.len()).step_by(step).chain(bytes.len().saturating_sub(64)..bytes.len()) {
            read_all_ways(&bytes[..end]);
        }
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let mut noise = Noise(0x5eed_c0de);
    let specials = [b'"', b'{', b'}', b'[', b']', b',', b':', b'\\', b'\n', 0xff, 0xc3, b'0', b'-', b'T'];
    for bytes in fixtures() {
        for _ in 0..300 {
            let mut mutated = bytes.clone();
            for _ in 0..=noise.below(4) {
                let at = noise.below(mutated.len());
                mutated[at] =
                    if noise.below(2) == 0 { specials[noise.below(specials.len())] } else { noise.next() as u8 };
            }
            read_all_ways(&mutated);
        }
    }
}

#[test]
fn random_noise_never_panics() {
    let mut noise = Noise(0xfeed_beef);
    for _ in 0..500 {
        let length = noise.below(300);
        let bytes: Vec<u8> = (0..length).map(|_| noise.next() as u8).collect();
        read_all_ways(&bytes);
        let alphabet = b" {}[]\":,0123456789.-eTZ+abc\\\n";
        let ascii: Vec<u8> = bytes.iter().map(|byte| alphabet[usize::from(*byte) % alphabet.len()]).collect();
        read_all_ways(&ascii);
    }
}
