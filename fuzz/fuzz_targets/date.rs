//! Date lines and values. Invariant: whatever comes back is ISO `YYYY-MM-DD` of a real
//! calendar day.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn leap(y: u32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn check(input: &str, date: &str) {
    let b = date.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    assert!(shape, "not YYYY-MM-DD: {date:?} from {input:?}");
    let y: u32 = date[0..4].parse().unwrap();
    let m: u32 = date[5..7].parse().unwrap();
    let d: u32 = date[8..10].parse().unwrap();
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap(y) => 29,
        2 => 28,
        _ => panic!("month {m} in {date:?} from {input:?}"),
    };
    assert!((1..=days).contains(&d), "day {d} in {date:?} from {input:?}");
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    if let Some(d) = svodka::article::date::parse_date_line(&s) {
        check(&s, &d);
    }
    if let Some(d) = svodka::article::date::parse_date_value(&s) {
        check(&s, &d);
    }
});
