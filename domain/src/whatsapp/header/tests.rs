//! Tests of the header scanner: Android and iOS layouts, markers in many languages, and
//! lines that only look like headers.

use super::*;

fn h(s: &str) -> Option<RawHeader> {
    parse_header(s.as_bytes())
}

#[test]
fn android_and_ios_layouts() {
    let a = h("12/08/2016, 16:20 - Alice: hi").unwrap();
    assert_eq!(a.date, [12, 8, 2016]);
    assert_eq!((a.hour, a.minute), (16, 20));
    assert_eq!(&"12/08/2016, 16:20 - Alice: hi"[a.rest..], "Alice: hi");
    let i = h("[12/08/2016, 16:20:15] Alice: hi").unwrap();
    assert_eq!(i.second, 15);
    assert!(i.shape.bracket && i.shape.seconds);
    let l = "\u{200E}[1/2/21, 4:05:09\u{202F}PM] Bob: \u{200E}image omitted";
    let i = h(l).unwrap();
    assert_eq!(i.hour24(), Some(16));
    assert_eq!(&l[i.rest..], "Bob: \u{200E}image omitted");
}

#[test]
fn markers_in_many_languages() {
    for (line, hour) in [
        ("12/08/2016, 4:20 p. m. - A: x", 16),
        ("12/08/2016, 4:20 a.m. - A: x", 4),
        ("12.08.16, 4:20 nachm. - A: x", 16),
        ("2016/08/12 午後4:20 - A: x", 16),
        ("2016. 8. 12. 오전 12:05 - A: x", 0),
        ("2016/8/12 下午4:20 - A: x", 16),
        ("12/08/2016, 4:20 μ.μ. - A: x", 16),
        ("12/08/2016 4:20 م - A: x", 16),
        ("١٢‏/٨‏/٢٠١٦ ٤:٢٠ م - A: x", 16),
        ("12.8.2016 klo 16.20 - A: x", 16),
        ("٩\u{200F}/٤\u{200F}/٢٠٢٣، ١٠:٠٨ م - A: x", 22),
        ("9/4/2023، 10:08 م - A: x", 22),
        ("۱۴۰۲/۱/۵، ۱۰:۰۸ ب.ظ - A: x", 22),
        ("۱۴۰۲/۱/۵، ۹:۰۸ ق.ظ - A: x", 9),
    ] {
        let r = h(line).unwrap_or_else(|| panic!("{line}"));
        assert_eq!(r.hour24(), Some(hour), "{line}");
    }
}

#[test]
fn not_headers() {
    for line in [
        "12/08/2016 was a great day",
        "Meet at 12/08 16:20",
        "12/08/2016, 16:20",
        "12/08/2016, 16:20 -5 degrees",
        "123/08/2016, 16:20 - A: x",
        "12/08-2016, 16:20 - A: x",
        "",
        "[",
    ] {
        assert!(
            h(line).is_none() || h(line).is_some_and(|r| r.rest == line.len()),
            "{line}"
        );
    }
    assert!(h("12/08/2016, 16:20 -5 degrees").is_none());
    assert!(h("12/08/2016 was great").is_none());
}
