//! The renderers: a row builder for the comparison table, and one grid type
//! printed as aligned text (stdout) or Markdown (results.md, RESULTS.md).

use serde_json::Value;

/// One line of the comparison table.
#[derive(Debug, Clone)]
pub struct Row {
    pub metric: String,
    /// One per column (runtime), in column order.
    pub cells: Vec<String>,
    /// One per peer: the peer's value over the base's (empty: no ratio).
    pub ratios: Vec<String>,
    pub target: String,
    /// `None` where there is no target.
    pub met: Option<bool>,
}

/// Builds the comparison rows over the runtimes' summaries `T`: column
/// `base` is the one ratios divide by, `peers` the ones that get a ratio.
pub struct Rows<'a, T> {
    cols: Vec<&'a T>,
    base: usize,
    peers: Vec<usize>,
    pub rows: Vec<Row>,
}

impl<'a, T> Rows<'a, T> {
    pub fn new(cols: Vec<&'a T>, base: usize, peers: Vec<usize>) -> Self {
        Rows {
            cols,
            base,
            peers,
            rows: Vec::new(),
        }
    }

    /// Starts a row; every cell is "—" and every ratio empty until set.
    pub fn row(&mut self, metric: impl Into<String>) -> RowBuilder<'_, 'a, T> {
        let row = Row {
            metric: metric.into(),
            cells: vec!["—".to_owned(); self.cols.len()],
            ratios: vec![String::new(); self.peers.len()],
            target: String::new(),
            met: None,
        };
        RowBuilder { rows: self, row }
    }
}

#[must_use = "a row is only in the table once `add` is called"]
pub struct RowBuilder<'r, 'a, T> {
    rows: &'r mut Rows<'a, T>,
    row: Row,
}

impl<T> RowBuilder<'_, '_, T> {
    /// Every column's cell from its summary.
    pub fn each(self, f: impl Fn(&T) -> String) -> Self {
        self.each_opt(|t| Some(f(t)))
    }

    /// Like `each`; `None` leaves the cell at "—" (not applicable).
    pub fn each_opt(mut self, f: impl Fn(&T) -> Option<String>) -> Self {
        for (cell, col) in self.row.cells.iter_mut().zip(&self.rows.cols) {
            if let Some(v) = f(col) {
                *cell = v;
            }
        }
        self
    }

    /// Each peer's value over the base's, as "12.3×" ("—" when undefined).
    pub fn ratio(mut self, f: impl Fn(&T) -> f64) -> Self {
        let base = f(self.rows.cols[self.rows.base]);
        for (out, &p) in self.row.ratios.iter_mut().zip(&self.rows.peers) {
            *out = times(f(self.rows.cols[p]), base);
        }
        self
    }

    pub fn target(mut self, target: impl Into<String>, met: Option<bool>) -> Self {
        self.row.target = target.into();
        self.row.met = met;
        self
    }

    pub fn add(self) {
        self.rows.rows.push(self.row);
    }
}

/// `a ÷ b` as "12.3×", "—" when it means nothing.
pub fn times(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() {
        format!("{:.1}×", a / b)
    } else {
        "—".to_owned()
    }
}

pub fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "",
    }
}

/// A table of strings; `right` marks the right-aligned (numeric) columns.
pub struct Grid {
    pub head: Vec<String>,
    pub right: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

impl Grid {
    /// The comparison table: metric, one column per runtime, one ratio per
    /// peer, target, verdict.
    pub fn comparison(columns: &[&str], ratio_columns: &[String], rows: &[Row]) -> Self {
        let mut head = vec!["metric".to_owned()];
        head.extend(columns.iter().map(|c| (*c).to_owned()));
        head.extend(ratio_columns.iter().cloned());
        head.extend(["target".to_owned(), String::new()]);
        let numeric = columns.len() + ratio_columns.len();
        let right = (0..head.len()).map(|i| i >= 1 && i <= numeric).collect();
        let rows = rows
            .iter()
            .map(|r| {
                let mut c = vec![r.metric.clone()];
                c.extend(r.cells.iter().cloned());
                c.extend(r.ratios.iter().cloned());
                c.extend([r.target.clone(), verdict(r.met).to_owned()]);
                c
            })
            .collect();
        Grid { head, right, rows }
    }

    /// Aligned columns, two spaces apart, a rule under the head.
    pub fn text(&self) -> String {
        let mut width: Vec<usize> = self.head.iter().map(|h| h.chars().count()).collect();
        for c in &self.rows {
            for (w, s) in width.iter_mut().zip(c) {
                *w = (*w).max(s.chars().count());
            }
        }
        let line = |c: &[String]| {
            c.iter()
                .zip(&width)
                .zip(&self.right)
                .map(|((s, &w), &right)| {
                    let pad = " ".repeat(w.saturating_sub(s.chars().count()));
                    if right {
                        format!("{pad}{s}")
                    } else {
                        format!("{s}{pad}")
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_owned()
        };
        let mut out = line(&self.head);
        out.push('\n');
        out.push_str(&"-".repeat(width.iter().sum::<usize>() + 2 * (width.len() - 1)));
        out.push('\n');
        for c in &self.rows {
            out.push_str(&line(c));
            out.push('\n');
        }
        out
    }

    /// A Markdown table (the first column's indentation dropped).
    pub fn markdown(&self) -> String {
        let cells = |c: &[String]| {
            let mut c = c.to_vec();
            if let Some(first) = c.first_mut() {
                *first = first.trim().to_owned();
            }
            format!("| {} |\n", c.join(" | "))
        };
        let mut out = cells(&self.head).replace("|  |", "| |");
        let align: Vec<&str> = self
            .right
            .iter()
            .map(|&r| if r { "---:" } else { "---" })
            .collect();
        out.push_str(&format!("| {} |\n", align.join(" | ")));
        for c in &self.rows {
            out.push_str(&cells(c));
        }
        out
    }
}

pub fn machine_line(m: &Value) -> String {
    let s = |k: &str| {
        m.get(k)
            .map(|v| v.to_string().trim_matches('"').to_owned())
            .unwrap_or_default()
    };
    format!(
        "{}, {} cores, {} GiB RAM, Linux {}; {}; {}; Node.js {}; {}",
        s("cpu"),
        s("cores"),
        s("memory_gib"),
        s("kernel"),
        s("rustc"),
        s("python"),
        s("node"),
        s("date")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_fills_cells_and_ratios() {
        let (a, b, c) = (2.0, 6.0, 1.0);
        let mut rows = Rows::new(vec![&a, &b, &c], 0, vec![1]);
        rows.row("m")
            .each(|v| format!("{v}"))
            .ratio(|v| *v)
            .target("≤ 3", Some(true))
            .add();
        rows.row("n")
            .each_opt(|v| (*v > 1.5).then(|| "x".into()))
            .add();
        let r = &rows.rows;
        assert_eq!(r[0].cells, ["2", "6", "1"]);
        assert_eq!(r[0].ratios, ["3.0×"]);
        assert_eq!(r[1].cells, ["x", "x", "—"]);
        assert_eq!(r[1].ratios, [""]);
    }

    #[test]
    fn grids_align_and_render_markdown() {
        let rows = vec![Row {
            metric: "  init".into(),
            cells: vec!["1.0 ms".into(), "10.0 ms".into()],
            ratios: vec!["10.0×".into()],
            target: "≤ 2".into(),
            met: Some(false),
        }];
        let g = Grid::comparison(&["a", "b"], &["b/a".into()], &rows);
        assert_eq!(
            g.text(),
            "metric       a        b    b/a  target\n\
             ----------------------------------------------\n  \
             init  1.0 ms  10.0 ms  10.0×  ≤ 2     MISSED\n"
        );
        assert_eq!(
            g.markdown(),
            "| metric | a | b | b/a | target | |\n\
             | --- | ---: | ---: | ---: | --- | --- |\n\
             | init | 1.0 ms | 10.0 ms | 10.0× | ≤ 2 | MISSED |\n"
        );
    }
}
