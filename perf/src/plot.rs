//! SVG charts for `--plot DIR`: the latency CDF and throughput over time,
//! one line per run. The SVG backend needs no system fonts.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::report::Report;

/// A chart that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("writing chart {path}: {message}")]
pub struct PlotError {
    path: String,
    message: String,
}

const PALETTE: [RGBColor; 6] = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];

fn err(path: &Path) -> impl Fn(String) -> PlotError + '_ {
    move |message| PlotError {
        path: path.display().to_string(),
        message,
    }
}

/// Writes `latency_cdf.svg` and `throughput.svg` into `dir`; returns their paths.
pub fn write_charts(report: &Report, dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    std::fs::create_dir_all(dir).map_err(|e| err(dir)(e.to_string()))?;
    let cdf = dir.join("latency_cdf.svg");
    latency_cdf(report, &cdf).map_err(err(&cdf))?;
    let tput = dir.join("throughput.svg");
    throughput(report, &tput).map_err(err(&tput))?;
    Ok(vec![cdf, tput])
}

fn latency_cdf(report: &Report, path: &Path) -> Result<(), String> {
    let series: Vec<(String, Vec<(f64, f64)>)> = report
        .runs
        .iter()
        .map(|r| (format!("{} #{}", r.side, r.repeat), r.latency.cdf()))
        .filter(|(_, pts)| !pts.is_empty())
        .collect();
    let x_max = report
        .runs
        .iter()
        .map(|r| r.latency.quantile_us(0.999))
        .fold(1.0f64, f64::max)
        * 1.2;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Transaction latency CDF (issuer delay excluded)",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..x_max, 0f64..1.0)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("latency (us, log scale)")
        .y_desc("fraction at or below")
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, (name, pts)) in series.into_iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                pts.into_iter().filter(|(x, _)| *x <= x_max),
                color,
            ))
            .map_err(|e| e.to_string())?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn throughput(report: &Report, path: &Path) -> Result<(), String> {
    let t_max = report
        .runs
        .iter()
        .map(|r| r.per_second.len())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let y_max = report
        .runs
        .iter()
        .flat_map(|r| r.per_second.iter().map(|s| s.answered as f64))
        .fold(1.0f64, f64::max)
        * 1.1;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption("Answered transactions per second", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..t_max, 0f64..y_max)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("second")
        .y_desc("tps")
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, r) in report.runs.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let pts: Vec<(f64, f64)> = r
            .per_second
            .iter()
            .map(|s| (s.t as f64, s.answered as f64))
            .collect();
        chart
            .draw_series(LineSeries::new(pts, color))
            .map_err(|e| e.to_string())?
            .label(format!("{} #{}", r.side, r.repeat))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
