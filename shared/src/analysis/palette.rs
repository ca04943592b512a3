//! The palette chart: a pie of an image's colours, each wedge labelled with
//! its hex code and share.

use std::f64::consts::{FRAC_PI_2, TAU};
use std::io::Cursor;
use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

/// Width and height of [`palette_png`]'s picture, in pixels.
pub const PALETTE_SIZE: (u32, u32) = (640, 480);

/// Registered under its own name so no caller's font choice interferes.
const FAMILY: &str = "pictures-palette";
const LABEL_PX: f64 = 15.0;
const LINE_SPACING: i32 = 20;
const RADIUS: f64 = 150.0;
const TEXT: RGBColor = RGBColor(51, 51, 51);
const RIM: RGBColor = RGBColor(200, 200, 200);

/// The embedded monospace font (hex codes line up), compiled in: the
/// function runs where no system font exists (AWS Lambda).
fn font_ready() -> bool {
    static READY: OnceLock<bool> = OnceLock::new();
    *READY.get_or_init(|| {
        register_font(
            FAMILY,
            FontStyle::Normal,
            epaint_default_fonts::HACK_REGULAR,
        )
        .is_ok()
    })
}

/// A pie chart of `colors` ((rgb, weight) pairs; weights need not sum to 1),
/// clockwise from 12 o'clock in the given order, on white, as a PNG of
/// [`PALETTE_SIZE`]. Labels (hex code and share) sit outside the pie, joined
/// to their wedge by a leader line, so they read the same on any colour and
/// never hide a small wedge. Weights that are not positive numbers are left
/// out; with none left the chart is plain white.
pub fn palette_png(colors: &[([u8; 3], f64)]) -> Vec<u8> {
    let (w, h) = PALETTE_SIZE;
    let mut pixels = vec![255u8; w as usize * h as usize * 3];
    if let Err(e) = draw(&mut pixels, colors) {
        // The wedges drawn so far still say most of it.
        tracing::warn!(error = %e, "the palette chart is incomplete");
    }
    let mut png = Vec::new();
    if let Some(img) = image::RgbImage::from_raw(w, h, pixels)
        && let Err(e) = img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
    {
        tracing::warn!(error = %e, "the palette chart does not encode");
    }
    png
}

/// A wedge: its colour, share, and angles (radians, clockwise from 12 o'clock
/// in screen coordinates, where y grows downwards).
struct Wedge {
    rgb: [u8; 3],
    fraction: f64,
    start: f64,
    end: f64,
}

impl Wedge {
    fn mid(&self) -> f64 {
        (self.start + self.end) / 2.0
    }
}

/// The wedges of the chart, in input order; weights that are not positive
/// finite numbers are dropped.
fn wedges(colors: &[([u8; 3], f64)]) -> Vec<Wedge> {
    let kept: Vec<([u8; 3], f64)> = colors
        .iter()
        .copied()
        .filter(|&(_, w)| w.is_finite() && w > 0.0)
        .collect();
    let total: f64 = kept.iter().map(|&(_, w)| w).sum();
    let mut start = -FRAC_PI_2;
    kept.into_iter()
        .map(|(rgb, w)| {
            let fraction = w / total;
            let end = start + fraction * TAU;
            let wedge = Wedge {
                rgb,
                fraction,
                start,
                end,
            };
            start = end;
            wedge
        })
        .collect()
}

fn center() -> (f64, f64) {
    (
        f64::from(PALETTE_SIZE.0) / 2.0,
        f64::from(PALETTE_SIZE.1) / 2.0,
    )
}

fn at(angle: f64, r: f64) -> (i32, i32) {
    let (cx, cy) = center();
    (
        (cx + r * angle.cos()).round() as i32,
        (cy + r * angle.sin()).round() as i32,
    )
}

fn draw(pixels: &mut [u8], colors: &[([u8; 3], f64)]) -> Result<(), String> {
    let wedges = wedges(colors);
    if wedges.is_empty() {
        return Ok(());
    }
    let root = BitMapBackend::with_buffer(pixels, PALETTE_SIZE).into_drawing_area();
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    let (cx, cy) = center();
    let centre = (cx.round() as i32, cy.round() as i32);

    for wedge in &wedges {
        let color = RGBColor(wedge.rgb[0], wedge.rgb[1], wedge.rgb[2]);
        if wedges.len() == 1 {
            root.draw(&Circle::new(centre, RADIUS as i32, color.filled()))
                .map_err(err)?;
            continue;
        }
        // About one point per degree of arc, and at least the two ends.
        let steps = ((wedge.end - wedge.start).to_degrees().ceil() as usize).max(1);
        let mut points = vec![centre];
        points.extend((0..=steps).map(|i| {
            at(
                wedge.start + (wedge.end - wedge.start) * i as f64 / steps as f64,
                RADIUS,
            )
        }));
        root.draw(&Polygon::new(points, color.filled()))
            .map_err(err)?;
    }
    if wedges.len() > 1 {
        // White spokes keep neighbouring, similar colours apart.
        for wedge in &wedges {
            root.draw(&PathElement::new(
                vec![centre, at(wedge.start, RADIUS)],
                WHITE.stroke_width(2),
            ))
            .map_err(err)?;
        }
    }
    // A rim, so a white wedge still shows on the white page.
    root.draw(&Circle::new(centre, RADIUS as i32, RIM.stroke_width(1)))
        .map_err(err)?;

    if !font_ready() {
        return Err("the embedded font does not load".to_string());
    }
    let font = (FAMILY, LABEL_PX).into_font().color(&TEXT);
    let label_x = (RADIUS + 44.0) as i32;
    for (side, labels) in labels_by_side(&wedges) {
        for (wedge, y) in labels {
            let elbow = at(wedge.mid(), RADIUS + 12.0);
            let x = centre.0 + side * label_x;
            root.draw(&PathElement::new(
                vec![
                    at(wedge.mid(), RADIUS - 4.0),
                    elbow,
                    (x - side * 6, y),
                    (x, y),
                ],
                TEXT.stroke_width(1),
            ))
            .map_err(err)?;
            let swatch = RGBColor(wedge.rgb[0], wedge.rgb[1], wedge.rgb[2]);
            let (sx0, sx1) = if side > 0 {
                (x + 4, x + 16)
            } else {
                (x - 16, x - 4)
            };
            root.draw(&Rectangle::new(
                [(sx0, y - 6), (sx1, y + 6)],
                swatch.filled(),
            ))
            .map_err(err)?;
            root.draw(&Rectangle::new(
                [(sx0, y - 6), (sx1, y + 6)],
                RIM.stroke_width(1),
            ))
            .map_err(err)?;
            let [r, g, b] = wedge.rgb;
            let text = format!("#{r:02x}{g:02x}{b:02x} {:>3.0}%", wedge.fraction * 100.0);
            let (tx, anchor) = if side > 0 {
                (x + 22, HPos::Left)
            } else {
                (x - 22, HPos::Right)
            };
            root.draw(&Text::new(
                text,
                (tx, y),
                font.pos(Pos::new(anchor, VPos::Center)),
            ))
            .map_err(err)?;
        }
    }
    root.present().map_err(err)
}

/// Wedges whose middle points right (+1) or left (-1) get their label on
/// that side, at the height of the middle, pushed apart so no two overlap.
fn labels_by_side(wedges: &[Wedge]) -> Vec<(i32, Vec<(&Wedge, i32)>)> {
    let top = LINE_SPACING;
    let bottom = PALETTE_SIZE.1 as i32 - LINE_SPACING;
    [1, -1]
        .into_iter()
        .map(|side| {
            let mut labels: Vec<(&Wedge, i32)> = wedges
                .iter()
                .filter(|w| (w.mid().cos() >= 0.0) == (side > 0))
                .map(|w| (w, at(w.mid(), RADIUS + 12.0).1))
                .collect();
            labels.sort_by_key(|&(_, y)| y);
            let mut floor = top;
            for (_, y) in labels.iter_mut() {
                *y = (*y).max(floor);
                floor = *y + LINE_SPACING;
            }
            let mut ceiling = bottom;
            for (_, y) in labels.iter_mut().rev() {
                *y = (*y).min(ceiling);
                ceiling = *y - LINE_SPACING;
            }
            (side, labels)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> image::RgbImage {
        image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .unwrap()
            .to_rgb8()
    }

    /// The pixel at `fraction` of the radius along the angle (clockwise from
    /// 12 o'clock, in turns) — worked out here, not by the drawing code.
    fn pixel_at(img: &image::RgbImage, turns: f64, fraction: f64) -> [u8; 3] {
        let angle = turns * TAU - FRAC_PI_2;
        let (cx, cy) = (320.0, 240.0);
        let r = RADIUS * fraction;
        img.get_pixel(
            (cx + r * angle.cos()).round() as u32,
            (cy + r * angle.sin()).round() as u32,
        )
        .0
    }

    #[test]
    fn every_wedge_has_its_colour_and_a_label() {
        let colors = [
            ([230, 57, 70], 5.0),
            ([241, 250, 238], 2.0), // almost white
            ([29, 53, 87], 2.0),
            ([168, 218, 220], 1.0),
            ([0, 0, 0], 0.4),
            ([255, 200, 0], 0.4),
        ];
        let img = decode(&palette_png(&colors));
        assert_eq!(img.dimensions(), PALETTE_SIZE);
        let total: f64 = colors.iter().map(|c| c.1).sum();
        let mut start = 0.0;
        for (rgb, weight) in colors {
            let share = weight / total;
            let mid = start + share / 2.0;
            for fraction in [0.3, 0.5, 0.8] {
                assert_eq!(
                    pixel_at(&img, mid, fraction),
                    rgb,
                    "wedge {rgb:?} at {fraction} R"
                );
            }
            start += share;
        }
        // The labels: dark text left and right of the pie, on white.
        let dark_outside = |left: bool| {
            img.enumerate_pixels()
                .filter(|(x, _, p)| {
                    let outside = if left { *x < 320 - 180 } else { *x > 320 + 180 };
                    outside && p.0.iter().all(|&c| c < 160)
                })
                .count()
        };
        // One label's text is some 150 dark pixels.
        assert!(
            dark_outside(true) > 600,
            "left labels: {}",
            dark_outside(true)
        );
        assert!(
            dark_outside(false) > 150,
            "right labels: {}",
            dark_outside(false)
        );
    }

    #[test]
    fn one_colour_fills_the_disc() {
        let img = decode(&palette_png(&[([10, 120, 200], 0.7)]));
        for turns in [0.0, 0.25, 0.5, 0.75] {
            assert_eq!(pixel_at(&img, turns, 0.5), [10, 120, 200]);
        }
    }

    #[test]
    fn nothing_to_draw_is_a_white_chart() {
        let nan = f64::NAN;
        for colors in [
            &[][..],
            &[([255, 0, 0], 0.0)],
            &[([255, 0, 0], -1.0), ([0, 0, 255], nan)],
        ] {
            let img = decode(&palette_png(colors));
            assert_eq!(img.dimensions(), PALETTE_SIZE);
            assert!(img.pixels().all(|p| p.0 == [255, 255, 255]));
        }
    }

    #[test]
    fn sixteen_labels_fit() {
        let colors: Vec<([u8; 3], f64)> = (0..16u8)
            .map(|i| ([i * 16, 255 - i * 16, 128], 1.0 + f64::from(i % 3)))
            .collect();
        let img = decode(&palette_png(&colors));
        assert_eq!(img.dimensions(), PALETTE_SIZE);
        let wedges = wedges(&colors);
        for side in labels_by_side(&wedges) {
            let ys: Vec<i32> = side.1.iter().map(|&(_, y)| y).collect();
            assert!(ys.windows(2).all(|w| w[1] - w[0] >= LINE_SPACING), "{ys:?}");
            assert!(
                ys.iter()
                    .all(|&y| y >= LINE_SPACING && y <= PALETTE_SIZE.1 as i32 - LINE_SPACING)
            );
        }
    }
}
