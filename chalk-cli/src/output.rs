//! The one renderer: every command returns a [`View`], printed here as JSON or tables.
//!
//! JSON is the resource as the API returns it (pretty-printed, one document per command),
//! stable for scripts. Tables are for people and may change.

use std::io::{self, IsTerminal, Write};

use comfy_table::{ContentArrangement, Table, presets};
use serde::Serialize;
use serde_json::Value;

use crate::error::{CliError, CliResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable tables (the default when stdout is a terminal).
    Table,
    /// The resource's JSON, stable for scripts (the default when stdout is not a terminal).
    Json,
}

impl Format {
    /// The format asked for, else tables for a terminal and JSON for a pipe or file.
    pub fn resolve(asked: Option<Format>) -> Format {
        asked.unwrap_or(if io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Json
        })
    }
}

/// One part of a table rendering.
#[derive(Debug)]
pub enum Block {
    /// Field / value rows.
    Fields(Vec<(String, String)>),
    /// A grid with a header row.
    Grid(Vec<&'static str>, Vec<Vec<String>>),
    /// A secret shown this one time, printed apart and clearly marked.
    Secret { label: String, value: String },
    /// A plain line.
    Line(String),
    /// A horizontal bar chart: one bar per labelled value, scaled to the largest.
    Bars {
        title: String,
        rows: Vec<(String, f64)>,
    },
}

/// What a command produced.
#[derive(Debug)]
pub struct View {
    pub json: Value,
    pub blocks: Vec<Block>,
    /// The exit code after printing: 0, or a documented non-error code (`chalk plan`: 10).
    pub exit_code: i32,
}

impl View {
    pub fn new(json: impl Serialize, blocks: Vec<Block>) -> CliResult<View> {
        let json = serde_json::to_value(json)
            .map_err(|e| CliError::other(format!("could not encode the output: {e}")))?;
        Ok(View {
            json,
            blocks,
            exit_code: 0,
        })
    }

    /// A view whose table is the JSON object's fields.
    pub fn fields(json: impl Serialize) -> CliResult<View> {
        let mut view = View::new(json, Vec::new())?;
        view.blocks.push(Block::Fields(flatten(&view.json)));
        Ok(view)
    }
}

/// Rows of a JSON object's fields, nested objects flattened to dotted keys
/// (`config.allowed_origins`), values as table cells.
pub fn flatten(json: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &Value, rows: &mut Vec<(String, String)>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, rows);
                }
            }
            other => rows.push((
                if prefix.is_empty() {
                    "value".into()
                } else {
                    prefix.to_owned()
                },
                cell(other),
            )),
        }
    }
    let mut rows = Vec::new();
    walk("", json, &mut rows);
    rows
}

/// A JSON value as a table cell: strings bare, null as `-`, lists comma-separated.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            if items.is_empty() {
                "-".into()
            } else {
                items.iter().map(cell).collect::<Vec<_>>().join(", ")
            }
        }
        other => other.to_string(),
    }
}

/// A timestamp as the API writes it: RFC 3339, seconds, `Z`.
pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Moves the rows named in `first` to the front, in that order; the rest keep theirs.
pub fn order_rows(mut rows: Vec<(String, String)>, first: &[&str]) -> Vec<(String, String)> {
    rows.sort_by_key(|(k, _)| first.iter().position(|f| f == k).unwrap_or(first.len()));
    rows
}

pub fn render(view: &View, format: Format) -> CliResult<()> {
    let mut out = io::stdout().lock();
    let written = match format {
        Format::Json => serde_json::to_writer_pretty(&mut out, &view.json)
            .map_err(io::Error::other)
            .and_then(|()| writeln!(out)),
        Format::Table => write_tables(&mut out, &view.blocks),
    };
    match written {
        Ok(()) => Ok(()),
        // `chalk tenants list | head`: the reader left, nothing to report.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::other(format!("could not write the output: {e}"))),
    }
}

/// The longest bar, in character cells.
const BAR_WIDTH: usize = 40;

/// `label │████▌ value` lines, bars in eighths of a cell, scaled so the largest value fills
/// `width`.
fn bars(rows: &[(String, f64)], width: usize) -> Vec<String> {
    const EIGHTHS: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let label_width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let largest = rows.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    rows.iter()
        .map(|(label, value)| {
            let eighths = if largest > 0.0 {
                (value.max(0.0) / largest * (width * 8) as f64).round() as usize
            } else {
                0
            };
            let bar = format!("{}{}", "█".repeat(eighths / 8), EIGHTHS[eighths % 8]);
            format!("{label:<label_width$} │{bar} {value:.1}")
        })
        .collect()
}

fn new_table() -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if !crate::style::color_stdout() {
        table.force_no_tty();
    }
    table
}

fn write_tables(out: &mut impl Write, blocks: &[Block]) -> io::Result<()> {
    for block in blocks {
        match block {
            Block::Fields(rows) => {
                let mut table = new_table();
                for (k, v) in rows {
                    table.add_row(vec![k.as_str(), v.as_str()]);
                }
                writeln!(out, "{table}")?;
            }
            Block::Grid(header, rows) => {
                if rows.is_empty() {
                    writeln!(out, "(none)")?;
                    continue;
                }
                let mut table = new_table();
                table.set_header(header.clone());
                for row in rows {
                    table.add_row(row.clone());
                }
                writeln!(out, "{table}")?;
            }
            Block::Secret { label, value } => {
                let warn = crate::style::paint_stdout("1;33", "SHOWN ONCE");
                writeln!(out)?;
                writeln!(
                    out,
                    "{warn} {label} (store it now; it cannot be shown again):"
                )?;
                writeln!(out)?;
                writeln!(out, "    {value}")?;
                writeln!(out)?;
            }
            Block::Line(text) => writeln!(out, "{text}")?,
            Block::Bars { title, rows } => {
                writeln!(out)?;
                writeln!(out, "{title}")?;
                for line in bars(rows, BAR_WIDTH) {
                    writeln!(out, "{line}")?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_in_eighths() {
        let rows = vec![
            ("a".to_owned(), 10.0),
            ("bb".to_owned(), 5.0),
            ("c".to_owned(), 0.0),
            ("d".to_owned(), 0.3),
        ];
        let lines = bars(&rows, 4);
        assert_eq!(lines[0], "a  │████ 10.0");
        assert_eq!(lines[1], "bb │██ 5.0");
        assert_eq!(lines[2], "c  │ 0.0");
        // 0.3 of 10 over 32 eighths is one eighth, rounded.
        assert_eq!(lines[3], "d  │▏ 0.3");
        assert_eq!(bars(&[("z".to_owned(), 0.0)], 4), ["z │ 0.0"]);
    }
}
