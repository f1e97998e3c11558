//! Printing answers: aligned tables for people, the API's JSON for scripts.

use serde_json::Value;

/// Columns padded to their widest cell, two spaces apart.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i + 1 == widths.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = line(&mut headers.iter().copied());
    for row in rows {
        out.push('\n');
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// The array `v[key]`, or nothing.
pub fn items<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map_or(&[], Vec::as_slice)
}

/// A JSON value as a table cell: strings bare, null as `-`.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A Unix time in ms as UTC `YYYY-MM-DD HH:MM:SS`.
pub fn time(ms: &Value) -> String {
    let Some(ms) = ms.as_u64() else { return "-".into() };
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = stagebox_media::calendar::civil_from_days(days as i64);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Prints `value` as JSON when `json`, else what `human` makes of it.
pub fn print(json: bool, value: &Value, human: impl FnOnce(&Value) -> String) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    } else {
        let text = human(value);
        if !text.is_empty() {
            println!("{text}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_times_read() {
        let t = table(&["NAME", "ROLE"], &[vec!["admin".into(), "admin".into()], vec!["ed".into(), "viewer".into()]]);
        assert_eq!(t, "NAME   ROLE\nadmin  admin\ned     viewer");
        assert_eq!(time(&Value::from(1_795_521_600_000u64)), "2026-11-24 12:00:00");
        assert_eq!(time(&Value::from(951_782_400_000u64)), "2000-02-29 00:00:00");
        assert_eq!(cell(&Value::Null), "-");
    }
}
