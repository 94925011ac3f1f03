//! The one table renderer: plain aligned columns with a header, as `kubectl get` prints
//! them. Widths are display widths, so CJK text and emoji line up.

use comfy_table::presets::NOTHING;
use comfy_table::{CellAlignment, ContentArrangement};

pub use comfy_table::Table;

/// Columns are separated by two spaces; no borders, no wrapping (a pipe gets whole lines).
pub fn new<const N: usize>(header: [&str; N], right_aligned: &[usize]) -> Table {
    let mut table = Table::new();
    table
        .load_style(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header);
    for (index, column) in table.column_iter_mut().enumerate() {
        let right = if index + 1 == N { 0 } else { 2 };
        column.set_padding((0, right));
        if right_aligned.contains(&index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// The table's lines, without trailing spaces.
pub fn render(table: &Table) -> String {
    table
        .lines()
        .map(|line| line.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_by_display_width() {
        let mut t = new(["NAME", "VALUE"], &[1]);
        t.add_row(["日本", "1"]);
        t.add_row(["ab", "100"]);
        assert_eq!(render(&t), "NAME  VALUE\n日本      1\nab      100");
    }
}
