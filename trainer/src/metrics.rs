//! The training metrics log (`metrics.jsonl`, one JSON object per line) and its loss-curve SVG.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One line of `metrics.jsonl`: a training step (with `loss`) or an evaluation (`eval_loss`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Optimizer step the record belongs to.
    pub step: u64,
    /// Mean training loss per completion token over the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    /// Mean held-out loss per completion token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_loss: Option<f64>,
    /// Learning rate of the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// Global gradient norm before clipping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_norm: Option<f64>,
    /// Input tokens per second of training time so far in this process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_s: Option<f64>,
    /// Input tokens processed since the start of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_seen: Option<u64>,
}

/// A line of a metrics log: it belongs to an optimizer step.
pub trait StepRecord: Serialize + serde::de::DeserializeOwned {
    /// The optimizer step the record belongs to.
    fn step(&self) -> u64;
}

impl StepRecord for Record {
    fn step(&self) -> u64 {
        self.step
    }
}

/// An append-only `metrics.jsonl` of `R` records (SFT's [`Record`] by default).
pub struct MetricsLog<R = Record> {
    path: PathBuf,
    records: Vec<R>,
}

impl<R: StepRecord> MetricsLog<R> {
    /// Opens `RUN/metrics.jsonl`: empty for a new run, or for a resumed run the records up to
    /// `resume_step` (later ones belong to the abandoned tail of the interrupted run).
    pub fn open(run_dir: &Path, resume_step: Option<u64>) -> Result<Self> {
        let path = run_dir.join("metrics.jsonl");
        let mut records = Vec::new();
        if let (Some(step), true) = (resume_step, path.exists()) {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            records = text
                .lines()
                .filter_map(|l| serde_json::from_str::<R>(l).ok())
                .filter(|r| r.step() <= step)
                .collect();
        }
        let mut text = String::new();
        for r in &records {
            text.push_str(&serde_json::to_string(r)?);
            text.push('\n');
        }
        crate::fsutil::write_atomic(&path, text.as_bytes())?;
        Ok(Self { path, records })
    }

    /// Appends a record.
    pub fn push(&mut self, record: R) -> Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .with_context(|| format!("cannot open {}", self.path.display()))?;
        writeln!(file, "{}", serde_json::to_string(&record)?)?;
        self.records.push(record);
        Ok(())
    }

    /// All records so far.
    pub fn records(&self) -> &[R] {
        &self.records
    }
}

/// The training progress bar (`total` steps, at `position`), or a hidden one.
pub fn step_bar(show: bool, total: u64, position: u64) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} steps (eta {eta}) {msg}",
        )
        .expect("valid template"),
    );
    bar.set_position(position);
    bar.enable_steady_tick(std::time::Duration::from_millis(500));
    bar
}

/// Writes the loss curve (training loss, its moving average, held-out loss) as an SVG file.
pub fn write_svg(records: &[Record], path: &Path) -> Result<()> {
    crate::fsutil::write_atomic(path, loss_svg(records).as_bytes())
}

/// The loss curve as SVG text.
pub fn loss_svg(records: &[Record]) -> String {
    let train: Vec<(f64, f64)> = records
        .iter()
        .filter_map(|r| r.loss.map(|l| (r.step as f64, l)))
        .collect();
    let eval: Vec<(f64, f64)> = records
        .iter()
        .filter_map(|r| r.eval_loss.map(|l| (r.step as f64, l)))
        .collect();
    let mut smooth = Vec::with_capacity(train.len());
    let mut ema = None;
    for &(x, y) in &train {
        let e = match ema {
            None => y,
            Some(e) => 0.9 * e + 0.1 * y,
        };
        ema = Some(e);
        smooth.push((x, e));
    }
    let all = || train.iter().chain(&eval);
    let finite = |v: &f64| v.is_finite();
    let x_max = all().map(|p| p.0).fold(1.0, f64::max);
    let y_max = all().map(|p| p.1).filter(finite).fold(f64::MIN, f64::max);
    let y_min = all().map(|p| p.1).filter(finite).fold(f64::MAX, f64::min);
    let (y_min, y_max) = if y_min > y_max {
        (0.0, 1.0)
    } else if (y_max - y_min) < 1e-9 {
        (y_min - 0.5, y_max + 0.5)
    } else {
        (
            y_min.min(0.0_f64.max(y_min - 0.05 * (y_max - y_min))),
            y_max,
        )
    };
    let (w, h, left, right, top, bottom) = (800.0, 420.0, 60.0, 20.0, 30.0, 40.0);
    let px = |x: f64| left + x / x_max * (w - left - right);
    let py = |y: f64| top + (1.0 - (y - y_min) / (y_max - y_min)) * (h - top - bottom);
    let line = |pts: &[(f64, f64)], color: &str, width: f64, opacity: f64| {
        if pts.is_empty() {
            return String::new();
        }
        let d: Vec<String> = pts
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
            .collect();
        format!(
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"{width}\" stroke-opacity=\"{opacity}\" points=\"{}\"/>\n",
            d.join(" ")
        )
    };
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">loss per completion token</text>\n",
        w / 2.0
    );
    for i in 0..=5 {
        let y = y_min + (y_max - y_min) * i as f64 / 5.0;
        let x = x_max * i as f64 / 5.0;
        s += &format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{y:.2}</text>\n",
            w - right,
            left - 5.0,
            py(y) + 4.0,
            y0 = py(y)
        );
        s += &format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{x:.0}</text>\n",
            px(x),
            h - bottom + 16.0
        );
    }
    s += &format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">step</text>\n",
        w / 2.0,
        h - 6.0
    );
    s += &line(&train, "#1f77b4", 1.0, 0.35);
    s += &line(&smooth, "#1f77b4", 2.0, 1.0);
    s += &line(&eval, "#d62728", 2.0, 1.0);
    for &(x, y) in eval.iter().filter(|p| p.1.is_finite()) {
        s += &format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#d62728\"/>\n",
            px(x),
            py(y)
        );
    }
    let lx = w - right - 170.0;
    s += &format!(
        "<line x1=\"{lx}\" x2=\"{}\" y1=\"{top}\" y2=\"{top}\" stroke=\"#1f77b4\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">train (EMA 0.9)</text>\n",
        lx + 20.0,
        lx + 25.0,
        top + 4.0
    );
    s += &format!(
        "<line x1=\"{lx}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"#d62728\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">held-out</text>\n",
        lx + 20.0,
        top + 16.0,
        top + 16.0,
        lx + 25.0,
        top + 20.0
    );
    s += "</svg>\n";
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_is_well_formed_enough() {
        let records: Vec<Record> = (1..=20)
            .map(|s| Record {
                step: s,
                loss: Some(5.0 / s as f64),
                eval_loss: (s % 5 == 0).then_some(6.0 / s as f64),
                ..Default::default()
            })
            .collect();
        let svg = loss_svg(&records);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(!svg.contains("NaN"));
        assert!(loss_svg(&[]).contains("</svg>"));
    }
}
