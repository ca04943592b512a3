//! Draws the reliability diagram of the on-device tagger's confidences:
//! `reliability-plot REPORT.json OUT.png`, REPORT.json being what
//! scripts/calibrate.py writes. Observed accuracy against reported
//! confidence, per decile, before and after calibration; a point's area
//! follows how many tags fell in its decile.

use image::{ImageBuffer, Rgb};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};
use serde_json::Value;

const W: u32 = 800;
const H: u32 = 640;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(report), Some(out)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: reliability-plot REPORT.json OUT.png");
        std::process::exit(2);
    };
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(report).unwrap_or_else(|e| panic!("{report}: {e}")),
    )
    .expect("the report is JSON");
    // Compiled in, so the picture is the same on every machine.
    if register_font(
        "sans-serif",
        FontStyle::Normal,
        epaint_default_fonts::UBUNTU_LIGHT,
    )
    .is_err()
    {
        panic!("the embedded font does not load");
    }

    let mut pixels = vec![255u8; (W * H * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (W, H)).into_drawing_area();
        let held = report["held_out_images"].as_u64().unwrap_or(0);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("Tag confidence vs accuracy ({held} held-out ImageNet images)"),
                ("sans-serif", 24),
            )
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..100f64, 0f64..100f64)
            .unwrap();
        chart
            .configure_mesh()
            .x_desc("reported confidence (%)")
            .y_desc("tags that are right (%)")
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .x_labels(11)
            .y_labels(11)
            .light_line_style(WHITE)
            .draw()
            .unwrap();
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (100.0, 100.0)],
                BLACK.mix(0.4),
            ))
            .unwrap()
            .label("perfectly calibrated")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.4)));

        let total: f64 = report["reliability"]["before"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["n"].as_f64().unwrap())
            .sum();
        for (key, name, color) in [
            ("before", "raw", RGBColor(220, 90, 40)),
            ("after", "calibrated", RGBColor(30, 100, 200)),
        ] {
            let points: Vec<(f64, f64, f64)> = report["reliability"][key]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    (
                        b["confidence"].as_f64().unwrap() * 100.0,
                        b["accuracy"].as_f64().unwrap() * 100.0,
                        b["n"].as_f64().unwrap(),
                    )
                })
                .collect();
            let ece = report["ece"][key].as_f64().unwrap() * 100.0;
            let style = color.stroke_width(3);
            chart
                .draw_series(LineSeries::new(points.iter().map(|p| (p.0, p.1)), style))
                .unwrap()
                .label(format!("{name} (ECE {ece:.1}%)"))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
            chart
                .draw_series(points.iter().map(|&(x, y, n)| {
                    let r = (3.0 + 14.0 * (n / total).sqrt()) as i32;
                    Circle::new((x, y), r, color.filled())
                }))
                .unwrap();
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font(("sans-serif", 18))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .draw()
            .unwrap();
        root.present().unwrap();
    }
    ImageBuffer::<Rgb<u8>, _>::from_raw(W, H, pixels)
        .unwrap()
        .save(out)
        .unwrap_or_else(|e| panic!("{out}: {e}"));
    eprintln!("-> {out}");
}
