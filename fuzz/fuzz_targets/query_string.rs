//! Query strings of every route: tags, dates, numbers, cursors, ids.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pictures::domain::PictureId;
use pictures::http::{parse_search_query, parse_stats_query, parse_upload_query};

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_upload_query(Some(query));
    let _ = parse_stats_query(Some(query));
    if let Ok(search) = parse_search_query(Some(query)) {
        assert!((1..=1000).contains(&search.limit.0));
        assert!(search.after >= 0);
        for tag in search.tags.iter().flat_map(|t| t.as_slice()) {
            assert!(!tag.is_empty() && tag.chars().count() <= 32, "{tag:?}");
        }
        for date in [&search.dates.min, &search.dates.max].into_iter().flatten() {
            assert_eq!(date.len(), 19, "{date:?}");
        }
    }
    if let Ok(Some(id)) = PictureId::parse(query) {
        assert!(id.0 > 0);
    }
});
