//! The similarity and the matcher on synthetic screens: identical → 1, tolerated changes pass,
//! content changes fail, masks are honoured, sizes are checked, the Watcher reuses work.

use std::sync::Arc;
use std::time::Instant;

use image::{GrayImage, Luma, Rgb, RgbImage};
use proptest::prelude::*;
use vncpilot::rfb::{Frame, Rect};
use vncpilot::screen::{Reference, ScreenSettings, Watcher};

/// A UI-like screen: light background, dark "text" bars of varying lengths, a coloured button.
fn screen(seed: u64, w: u32, h: u32) -> RgbImage {
    let mut img = RgbImage::from_pixel(w, h, Rgb([240, 240, 240]));
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = |m: u32| {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) % m as u64) as u32
    };
    for row in 0..(h / 12) {
        let mut x = 4 + next(10);
        while x + 8 < w {
            let len = 2 + next(5);
            let hgt = 3 + next(5);
            for yy in row * 12 + 2..row * 12 + 2 + hgt {
                for xx in x..(x + len).min(w) {
                    img.put_pixel(xx, yy.min(h - 1), Rgb([30, 30, 40]));
                }
            }
            x += len + 1 + next(4);
        }
    }
    let (bx, by) = (w / 3, h / 3);
    let colour = [Rgb([200, 40, 40]), Rgb([40, 90, 200]), Rgb([40, 160, 60])][next(3) as usize];
    for yy in by..by + h / 4 {
        for xx in bx..bx + w / 3 {
            img.put_pixel(xx, yy, colour);
        }
    }
    img
}

fn reference(img: &RgbImage, mask: Option<&GrayImage>) -> Reference {
    Reference::from_image("t", img, mask, &ScreenSettings::default()).unwrap()
}

fn map(img: &RgbImage, mut f: impl FnMut(u32, u32, [u8; 3]) -> [u8; 3]) -> RgbImage {
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        Rgb(f(x, y, img.get_pixel(x, y).0))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn identical_is_exactly_one(seed in any::<u64>()) {
        let img = screen(seed, 160, 96);
        let r = reference(&img, None).check(&img);
        prop_assert!(r.matched);
        prop_assert_eq!(r.similarity, 1.0);
    }

    #[test]
    fn tolerated_changes_pass(seed in any::<u64>(), bright in -6i32..=6, noise in 0u32..=3) {
        let img = screen(seed, 160, 96);
        let r = reference(&img, None);
        let mut n = seed;
        let changed = map(&img, |_, _, p| {
            p.map(|v| {
                n = n.wrapping_mul(6364136223846793005).wrapping_add(1);
                let e = ((n >> 40) % (2 * noise as u64 + 1)) as i32 - noise as i32;
                (v as i32 + bright + e).clamp(0, 255) as u8
            })
        });
        prop_assert!(r.check(&changed).matched, "brightness {} noise {}", bright, noise);
        let rgb565 = map(&img, |_, _, p| [p[0] & 0xF8, p[1] & 0xFC, p[2] & 0xF8]);
        prop_assert!(r.check(&rgb565).matched);
    }

    #[test]
    fn chroma_swap_fails(seed in any::<u64>()) {
        let img = screen(seed, 160, 96);
        // Swapping red and green keeps the layout but changes the button's colour; the region
        // is the button with some surroundings (in a whole-screen region a small button's
        // colour is diluted by everything else, as any area-mean similarity is).
        let swapped = map(&img, |_, _, p| [p[1], p[0], p[2]]);
        let mut mask = GrayImage::new(160, 96);
        for y in 24..56 { for x in 45..115 { mask.put_pixel(x, y, Luma([255])); } }
        prop_assert!(!reference(&img, Some(&mask)).check(&swapped).matched);
    }

    #[test]
    fn mirrored_content_fails(seed in any::<u64>()) {
        let img = screen(seed, 160, 96);
        let w = img.width();
        let mirrored = map(&img, |x, y, _| img.get_pixel(w - 1 - x, y).0);
        prop_assert!(!reference(&img, None).check(&mirrored).matched);
    }

    #[test]
    fn moved_screen_is_found(seed in any::<u64>(), dx in -20i64..=20, dy in -20i64..=20) {
        let big = screen(seed, 400, 300);
        let mut mask = GrayImage::new(400, 300);
        for y in 100..160 { for x in 120..260 { mask.put_pixel(x, y, Luma([255])); } }
        let r = reference(&big, Some(&mask));
        let moved = map(&big, |x, y, _| {
            let (sx, sy) = (x as i64 - dx, y as i64 - dy);
            if sx < 0 || sy < 0 || sx >= 400 || sy >= 300 { [240, 240, 240] } else { big.get_pixel(sx as u32, sy as u32).0 }
        });
        let res = r.check(&moved);
        prop_assert!(res.matched, "{:?}", res);
        prop_assert_eq!(res.regions[0].found.x as i64, 120 + dx);
        prop_assert_eq!(res.regions[0].found.y as i64, 100 + dy);
    }
}

#[test]
fn masked_out_pixels_do_not_count_and_masked_in_pixels_do() {
    let img = screen(7, 160, 96);
    let mut mask = GrayImage::from_pixel(160, 96, Luma([255]));
    for y in 0..20 {
        for x in 0..160 {
            mask.put_pixel(x, y, Luma([0]));
        }
    }
    let r = reference(&img, Some(&mask));
    let top_changed = map(
        &img,
        |_, y, p| if y < 20 { [255 - p[0], 0, 255] } else { p },
    );
    assert!(r.check(&top_changed).matched);
    let bottom_changed = map(
        &img,
        |_, y, p| if y >= 60 { [255 - p[0], 0, 255] } else { p },
    );
    assert!(!r.check(&bottom_changed).matched);
    // Without the mask the top change counts.
    assert!(!reference(&img, None).check(&top_changed).matched);
}

#[test]
fn ignored_rectangle_is_left_out() {
    let img = screen(3, 160, 96);
    let r = reference(&img, None);
    let cursor = Rect::new(50, 30, 12, 18);
    let with_cursor = map(&img, |x, y, p| {
        if cursor_contains(cursor, x, y) {
            [0, 255, 0]
        } else {
            p
        }
    });
    assert!(!r.check(&with_cursor).matched);
    assert!(r.check_ignoring(&with_cursor, &[cursor]).matched);
}

fn cursor_contains(r: Rect, x: u32, y: u32) -> bool {
    x >= r.x && x < r.right() && y >= r.y && y < r.bottom()
}

#[test]
fn mask_of_another_size_is_an_error() {
    let img = screen(1, 160, 96);
    let mask = GrayImage::new(100, 96);
    let err =
        Reference::from_image("x", &img, Some(&mask), &ScreenSettings::default()).unwrap_err();
    assert!(
        err.to_string().contains("100x96") && err.to_string().contains("160x96"),
        "{err}"
    );
}

#[test]
fn screen_files_find_their_mask_and_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let screens = tmp.path().join("screens/set1");
    let masks = tmp.path().join("masks/set1");
    std::fs::create_dir_all(&screens).unwrap();
    std::fs::create_dir_all(&masks).unwrap();
    let img = screen(5, 160, 96);
    img.save(screens.join("a.png")).unwrap();
    GrayImage::new(10, 10).save(masks.join("a.png")).unwrap();
    let err = Reference::load(screens.join("a.png"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("masks/set1/a.png") && err.contains("10x10"),
        "{err}"
    );
    let mut mask = GrayImage::new(160, 96);
    for y in 10..40 {
        for x in 10..60 {
            mask.put_pixel(x, y, Luma([255]));
        }
    }
    mask.save(masks.join("a.png")).unwrap();
    std::fs::write(
        screens.join("a.toml"),
        "threshold = 0.9\nclick_point = [20, 20]\nbogus = 1\n",
    )
    .unwrap();
    let err = Reference::load(screens.join("a.png"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("a.toml") && err.contains("bogus"), "{err}");
    std::fs::write(
        screens.join("a.toml"),
        "threshold = 0.9\nclick_point = [20, 20]\n",
    )
    .unwrap();
    let r = Reference::load(screens.join("a.png")).unwrap();
    assert_eq!(
        r.regions().collect::<Vec<_>>(),
        vec![Rect::new(10, 10, 50, 30)]
    );
    assert_eq!(r.click_point(), Some((20, 20)));
    let set = vncpilot::screen::ScreenSet::load(&tmp.path().join("screens"), "set1").unwrap();
    assert!(set.get("a").is_some());
    std::fs::write(screens.join("b.png"), b"garbage").unwrap();
    let err = vncpilot::screen::ScreenSet::load(&tmp.path().join("screens"), "set1")
        .unwrap_err()
        .to_string();
    assert!(err.contains("b.png"), "{err}");
}

fn frame(serial: u64, image: RgbImage, damage: Vec<Rect>) -> Frame {
    Frame {
        serial,
        time: Instant::now(),
        image: Arc::new(image),
        damage,
        cursor: None,
        pointer: None,
    }
}

#[test]
fn watcher_recomputes_only_touched_regions_and_sees_changes() {
    let img = screen(9, 400, 300);
    let mut mask = GrayImage::new(400, 300);
    for y in 10..40 {
        for x in 10..80 {
            mask.put_pixel(x, y, Luma([255]));
        }
    }
    for y in 200..260 {
        for x in 250..380 {
            mask.put_pixel(x, y, Luma([255]));
        }
    }
    let r = Arc::new(reference(&img, Some(&mask)));
    assert_eq!(r.regions().count(), 2);
    let mut w = Watcher::new(vec![r.clone()]);
    let first = w.update(&frame(1, img.clone(), vec![Rect::full(400, 300)]));
    assert!(first[0].1.matched);
    assert_eq!(w.last_recomputed(), 2);
    // A change far from both regions: nothing recomputed, still a match.
    let mut img2 = img.clone();
    img2.put_pixel(150, 100, Rgb([0, 0, 0]));
    let second = w.update(&frame(2, img2.clone(), vec![Rect::new(150, 100, 1, 1)]));
    assert!(second[0].1.matched);
    assert_eq!(w.last_recomputed(), 0);
    // A change inside the second region: only it is recomputed, and it no longer matches.
    let img3 = map(&img2, |x, y, p| {
        if (260..370).contains(&x) && (205..255).contains(&y) {
            [255, 0, 255]
        } else {
            p
        }
    });
    let third = w.update(&frame(3, img3.clone(), vec![Rect::new(260, 205, 110, 50)]));
    assert_eq!(w.last_recomputed(), 1);
    assert!(!third[0].1.matched);
    // Same answers as a full check; completed, the same similarities too.
    assert_eq!(third, w.check_image(&img3));
    assert_eq!(w.complete(&img3)[0].1, r.check(&img3));
    // An image of another size than the last update's is checked, then completed.
    let small = screen(9, 200, 150);
    assert_eq!(w.complete(&small)[0].1, r.check(&small));
}

#[test]
fn watcher_sees_a_region_appear_through_a_small_update() {
    // Reference: a screen with a distinctive 60x30 region; the live screen first shows
    // something else there, then a small update paints the region (with a 4 px border of its
    // surroundings) in, 7 px lower.
    let reference_img = screen(11, 400, 300);
    let live = screen(12, 400, 300);
    let mut mask = GrayImage::new(400, 300);
    for y in 30..60 {
        for x in 20..80 {
            mask.put_pixel(x, y, Luma([255]));
        }
    }
    let r = Arc::new(reference(&reference_img, Some(&mask)));
    let mut w = Watcher::new(vec![r.clone()]);
    assert!(
        !w.update(&frame(1, live.clone(), vec![Rect::full(400, 300)]))[0]
            .1
            .matched
    );
    let mut painted = live.clone();
    for y in 26..64 {
        for x in 16..84 {
            painted.put_pixel(x, y + 7, *reference_img.get_pixel(x, y));
        }
    }
    let res = w.update(&frame(2, painted.clone(), vec![Rect::new(16, 33, 68, 38)]));
    assert!(res[0].1.matched, "{res:?}");
    assert_eq!(res[0].1.regions[0].found, Rect::new(20, 37, 60, 30));
    assert_eq!(res[0].1.matched, r.check(&painted).matched);
}

/// A change confined to a small part of a big region (a mirrored title in a window-sized
/// region, compared at reduced resolution) is not diluted away, while mild noise over the
/// whole region still passes.
#[test]
fn small_change_in_a_big_region_fails_but_noise_passes() {
    let img = screen(11, 800, 500);
    let r = reference(&img, None);
    // Mirror a 120 x 24 strip of "text" (about 0.7 % of the region).
    let (x0, y0, w, h) = (40, 24, 120, 24);
    let mirrored = map(&img, |x, y, p| {
        if (x0..x0 + w).contains(&x) && (y0..y0 + h).contains(&y) {
            img.get_pixel(x0 + w - 1 - (x - x0), y).0
        } else {
            p
        }
    });
    let m = r.check(&mirrored);
    assert!(!m.matched, "mirrored strip matched: {:?}", m.similarity);
    let mut seed = 7u32;
    let noisy = map(&img, |_, _, p| {
        seed = seed.wrapping_mul(1103515245).wrapping_add(12345);
        let d = ((seed >> 16) % 7) as i32 - 3;
        p.map(|v| (v as i32 + d).clamp(0, 255) as u8)
    });
    let m = r.check(&noisy);
    assert!(m.matched, "noise failed: {:?}", m.similarity);
}

/// Twelve references of twelve different screens, two regions each (enough work for the
/// Watcher's threads). After each whole-screen change exactly the reference of the screen now
/// showing matches, and the answers equal a full check of every reference: decisions at once,
/// similarities once completed (before, a region that failed on luma alone carries its luma
/// bound, which is not below its similarity but by rounding).
#[test]
fn watcher_matches_only_the_showing_screen_after_whole_screen_changes() {
    let (w, h) = (320, 240);
    let screens: Vec<RgbImage> = (0..12).map(|s| screen(100 + s, w, h)).collect();
    let mut mask = GrayImage::new(w, h);
    for (x0, y0) in [(20u32, 20u32), (180, 150)] {
        for y in y0..y0 + 40 {
            for x in x0..x0 + 100 {
                mask.put_pixel(x, y, Luma([255]));
            }
        }
    }
    let refs: Vec<Arc<Reference>> = screens
        .iter()
        .enumerate()
        .map(|(i, img)| {
            Arc::new(
                Reference::from_image(&format!("s{i}"), img, Some(&mask), &Default::default())
                    .unwrap(),
            )
        })
        .collect();
    let mut watcher = Watcher::new(refs.clone());
    let mut bounded = 0;
    for (serial, shown) in [3usize, 7, 0, 11, 3].into_iter().enumerate() {
        let res = watcher.update(&frame(
            serial as u64 + 1,
            screens[shown].clone(),
            vec![Rect::full(w, h)],
        ));
        // A reference is decided at its first failing region: the regions after it are
        // neither checked nor listed.
        let listed: usize = res.iter().map(|(_, m)| m.regions.len()).sum();
        assert_eq!(watcher.last_recomputed(), listed);
        assert!(listed < 24, "every region of every reference was checked");
        let matched: Vec<&str> = res
            .iter()
            .filter(|(_, m)| m.matched)
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(matched, vec![format!("s{shown}")], "showing s{shown}");
        let completed = watcher.complete(&screens[shown]);
        for ((r, (name, m)), (_, done)) in refs.iter().zip(&res).zip(&completed) {
            assert_eq!(name, r.name());
            let full = r.check(&screens[shown]);
            assert_eq!(m.matched, full.matched, "{name}");
            let n = m.regions.len();
            assert_eq!(done.regions[..], full.regions[..n], "{name}");
            for (d, f) in m.regions.iter().zip(&full.regions) {
                if d.exact {
                    assert_eq!(d, f, "{name}");
                } else {
                    bounded += 1;
                    assert_eq!(d.found, f.found, "{name}");
                    assert!(
                        !d.passed() && d.similarity + 1e-3 >= f.similarity,
                        "{name}: {d:?}"
                    );
                }
            }
            let first_fail = full.regions.iter().position(|g| !g.passed());
            assert_eq!(n, first_fail.map_or(2, |i| i + 1), "{name}");
        }
        // Completing again scores nothing anew and says the same.
        assert_eq!(watcher.complete(&screens[shown]), completed);
    }
    assert!(bounded > 0, "no region was left to complete");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the screen — another one, the same one darkened or lightened (which the
    /// mean-luma test may rule out), shifted —, the Watcher's decisions are a full check's,
    /// and once completed so are its similarities, bit for bit.
    #[test]
    fn watcher_decisions_and_completed_results_equal_a_full_check(
        seed in 0u64..1000, other in 0u64..1000, shift in 0u32..20, tone in 0u8..4,
        x0 in 0u32..200, y0 in 0u32..150, w in 20u32..110, h in 14u32..80,
    ) {
        let img = screen(seed, 320, 240);
        let mut mask = GrayImage::new(320, 240);
        for y in y0..(y0 + h).min(240) {
            for x in x0..(x0 + w).min(320) {
                mask.put_pixel(x, y, Luma([255]));
            }
        }
        let r = Arc::new(reference(&img, Some(&mask)));
        let shown = match tone {
            0 => screen(other, 320, 240),
            1 => map(&img, |_, _, p| p.map(|v| v / 3)),
            2 => map(&img, |_, _, p| p.map(|v| v / 2 + 128)),
            _ => map(&img, |x, y, p| {
                if x >= shift && y >= shift / 2 { img.get_pixel(x - shift, y - shift / 2).0 } else { p }
            }),
        };
        let mut watcher = Watcher::new(vec![r.clone()]);
        let decided = watcher.check_image(&shown).remove(0).1;
        let full = r.check(&shown);
        prop_assert_eq!(decided.matched, full.matched);
        for (d, f) in decided.regions.iter().zip(&full.regions) {
            prop_assert_eq!(d.found, f.found);
            // A luma bound is at least the full score, up to rounding (the two sum the same
            // pixels in another order).
            prop_assert!(d.exact || d.similarity + 1e-3 >= f.similarity, "{:?} {:?}", d, f);
        }
        prop_assert_eq!(&watcher.complete(&shown)[0].1, &full);
    }
}

/// A screen shown for a single framebuffer update, between two others, is seen in the result
/// of that update (nothing is skipped or deferred).
#[test]
fn watcher_does_not_miss_a_short_lived_screen() {
    let (w, h) = (320, 240);
    let before = screen(200, w, h);
    let flash = screen(201, w, h);
    let after = screen(202, w, h);
    let mut mask = GrayImage::new(w, h);
    for y in 60..120 {
        for x in 40..200 {
            mask.put_pixel(x, y, Luma([255]));
        }
    }
    let r = Arc::new(reference(&flash, Some(&mask)));
    let mut watcher = Watcher::new(vec![r]);
    let seen: Vec<bool> = [&before, &flash, &after]
        .into_iter()
        .enumerate()
        .map(|(i, img)| {
            watcher.update(&frame(i as u64 + 1, img.clone(), vec![Rect::full(w, h)]))[0]
                .1
                .matched
        })
        .collect();
    assert_eq!(seen, vec![false, true, false]);
    // The same with the flash painted in by a partial update (only its region's rows).
    let mut partial = before.clone();
    for y in 50..130 {
        for x in 0..w {
            partial.put_pixel(x, y, *flash.get_pixel(x, y));
        }
    }
    let res = watcher.update(&frame(4, before.clone(), vec![Rect::full(w, h)]));
    assert!(!res[0].1.matched);
    let res = watcher.update(&frame(5, partial, vec![Rect::new(0, 50, w, 80)]));
    assert!(res[0].1.matched, "{res:?}");
    let res = watcher.update(&frame(6, before.clone(), vec![Rect::new(0, 50, w, 80)]));
    assert!(!res[0].1.matched);
}
