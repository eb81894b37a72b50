//! Folders of PNG or JPEG images, one sub-folder per class, decoded in parallel and kept as `u8` pixels; and
//! the seeded augmentation used for CIFAR-10 (random crop with zero padding, horizontal flip).

use std::path::{Path, PathBuf};

use image::GenericImageView;
use owm_core::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::tabular::stratified_split;
use crate::{Dataset, Error, Inputs, Result, Splits};

/// Extensions read as images (case-insensitive); other files in a class folder are ignored.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Reads an image folder: `dir/train/CLASS/*.png` and `dir/test/CLASS/*.png` when both exist, otherwise
/// `dir/CLASS/*.png` split stratified by `test_fraction` with `seed`. Classes are the sorted training
/// sub-folder names. Every image must have the size of the first; colour images are read as RGB (3 channels),
/// or as luma (1 channel) with `grayscale`.
///
/// # Errors
///
/// [`Error::Missing`] for a folder without class sub-folders or images; [`Error::Image`] naming the file
/// that cannot be decoded or has another size; [`Error::Missing`] for a test class absent from training.
pub fn load_image_folder(dir: &Path, grayscale: bool, test_fraction: f64, seed: u64) -> Result<Splits> {
    let (train_dir, test_dir) = (dir.join("train"), dir.join("test"));
    if train_dir.is_dir() && test_dir.is_dir() {
        let (classes, train_files) = list_classes(&train_dir)?;
        let (test_classes, test_files) = list_classes(&test_dir)?;
        if let Some(c) = test_classes.iter().find(|c| !classes.contains(c)) {
            return Err(Error::Missing { dir: test_dir.join(c), expected: format!("class `{c}` in {}", train_dir.display()), tried: classes.join(", ") });
        }
        let relabel =
            |files: Labelled| files.into_iter().map(|(p, l)| (p, classes.iter().position(|c| *c == test_classes[l]).unwrap_or(l))).collect::<Vec<_>>();
        let test_files = relabel(test_files);
        let name = dir.file_name().map_or("images".into(), |n| n.to_string_lossy().into_owned());
        let train = decode_all(&format!("{name}/train"), &train_files, &classes, grayscale, None)?;
        let size = train.input_spec();
        let test = decode_all(&format!("{name}/test"), &test_files, &classes, grayscale, Some(size))?;
        return Ok(Splits::new(train, test));
    }
    let (classes, files) = list_classes(dir)?;
    let labels: Vec<usize> = files.iter().map(|(_, l)| *l).collect();
    let (train, test) = stratified_split(&labels, test_fraction, seed);
    let name = dir.file_name().map_or("images".into(), |n| n.to_string_lossy().into_owned());
    let pick = |rows: &[usize]| rows.iter().map(|&i| files[i].clone()).collect::<Vec<_>>();
    let train = decode_all(&format!("{name}/train"), &pick(&train), &classes, grayscale, None)?;
    let size = train.input_spec();
    let test = decode_all(&format!("{name}/test"), &pick(&test), &classes, grayscale, Some(size))?;
    Ok(Splits::new(train, test))
}

/// Image files with their class index.
type Labelled = Vec<(PathBuf, usize)>;

/// The sorted class sub-folders of `dir` and every image file in them (sorted by path), with its class index.
fn list_classes(dir: &Path) -> Result<(Vec<String>, Labelled)> {
    let io = |source: std::io::Error| Error::Io { path: dir.to_path_buf(), source };
    let mut classes: Vec<String> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    classes.sort();
    let mut files = Vec::new();
    for (label, class) in classes.iter().enumerate() {
        let mut in_class: Vec<PathBuf> = std::fs::read_dir(dir.join(class))
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| IMAGE_EXTENSIONS.iter().any(|e| x.eq_ignore_ascii_case(e))))
            .collect();
        in_class.sort();
        files.extend(in_class.into_iter().map(|p| (p, label)));
    }
    if classes.is_empty() || files.is_empty() {
        let expected = "one sub-folder per class holding PNG or JPEG images".to_string();
        return Err(Error::Missing { dir: dir.to_path_buf(), expected, tried: IMAGE_EXTENSIONS.join(", ") });
    }
    Ok((classes, files))
}

/// Decodes `files` in parallel into one `u8` pixel dataset (channel-major), all of one size.
fn decode_all(name: &str, files: &[(PathBuf, usize)], classes: &[String], grayscale: bool, expect: Option<owm_core::InputSpec>) -> Result<Dataset> {
    let decoded = files.par_iter().map(|(path, _)| decode(path, grayscale)).collect::<Result<Vec<_>>>()?;
    let shape = match expect {
        Some(owm_core::InputSpec::Image { shape }) => shape,
        _ => decoded[0].0,
    };
    let mut pixels = Vec::with_capacity(decoded.len() * shape.iter().product::<usize>());
    for ((path, _), (s, p)) in files.iter().zip(decoded) {
        if s != shape {
            let reason = format!("{}×{} with {} channel(s), the first training image is {}×{} with {}", s[2], s[1], s[0], shape[2], shape[1], shape[0]);
            return Err(Error::Image { path: path.clone(), reason });
        }
        pixels.extend_from_slice(&p);
    }
    let labels = files.iter().map(|(_, l)| *l).collect();
    Dataset::with_inputs(name, Inputs::Pixels { shape, values: pixels }, classes.to_vec(), labels)
}

/// One image file as planar `[channels, height, width]` `u8` pixels: luma with `grayscale`, RGB otherwise.
fn decode(path: &Path, grayscale: bool) -> Result<([usize; 3], Vec<u8>)> {
    let img = image::open(path).map_err(|e| Error::Image { path: path.to_path_buf(), reason: e.to_string() })?;
    let (w, h) = img.dimensions();
    let (c, bytes) = if grayscale { (1, img.into_luma8().into_raw()) } else { (3, img.into_rgb8().into_raw()) };
    // Interleaved HWC → planar CHW.
    let (w, h) = (w as usize, h as usize);
    let mut planar = vec![0u8; bytes.len()];
    for (i, &b) in bytes.iter().enumerate() {
        let (pixel, channel) = (i / c, i % c);
        planar[channel * h * w + pixel] = b;
    }
    Ok(([c, h, w], planar))
}

/// Images to predict on: the image file `path`, or every image under the folder `path` (sub-folders
/// included, sorted by path), decoded as luma for one channel and RGB for three; a file's id is its path
/// under `path`, and the name of its folder below `path`, when it has one, is its known class. A file that is
/// not an image is read as the images of a dataset file: a CIFAR-10 batch (`.bin`; each record's label is its
/// known class) or an IDX file of `[images, height, width]` bytes (MNIST's layout, gzip or not); a record's id
/// is then its 1-based position in the file.
///
/// # Errors
///
/// [`Error::Missing`] for a folder without images; [`Error::Image`] naming a file that cannot be decoded or
/// whose size is not `shape`; the CIFAR-10 and IDX readers' errors, naming file and offset.
pub fn read_image_records(path: &Path, shape: [usize; 3]) -> Result<crate::Records> {
    if path.is_file() && !path.extension().is_some_and(|x| IMAGE_EXTENSIONS.iter().any(|e| x.eq_ignore_ascii_case(e))) {
        return read_array_records(path, shape);
    }
    let files = if path.is_dir() { image_files(path)? } else { vec![path.to_path_buf()] };
    let decoded = files.par_iter().map(|file| decode(file, shape[0] == 1)).collect::<Result<Vec<_>>>()?;
    let mut pixels = Vec::with_capacity(files.len() * shape.iter().product::<usize>());
    for (file, (s, p)) in files.iter().zip(decoded) {
        if s != shape {
            let reason = format!("{}×{} with {} channel(s); the model reads {}×{} with {}", s[2], s[1], s[0], shape[2], shape[1], shape[0]);
            return Err(Error::Image { path: file.clone(), reason });
        }
        pixels.extend_from_slice(&p);
    }
    let relative = |f: &PathBuf| f.strip_prefix(path).ok().filter(|r| !r.as_os_str().is_empty()).map(Path::to_path_buf);
    let ids = files.iter().map(|f| relative(f).unwrap_or_else(|| f.clone()).display().to_string()).collect();
    let known = files.iter().map(|f| relative(f).and_then(|r| r.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()))).collect();
    Ok(crate::Records { ids, inputs: Inputs::Pixels { shape, values: pixels }, known, imputed: Default::default() })
}

/// The images of a CIFAR-10 batch or an IDX file (see [`read_image_records`]).
fn read_array_records(path: &Path, shape: [usize; 3]) -> Result<crate::Records> {
    let (found, values, known): ([usize; 3], Vec<u8>, Option<Vec<String>>) = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("bin")) {
        let data = crate::cifar::read_batches("records", &[path.to_path_buf()])?;
        let known = data.labels().iter().map(|&l| data.class_names[l].clone()).collect();
        let Inputs::Pixels { shape, values } = data.inputs() else { return Err(Error::Unpredictable("a CIFAR-10 batch holds pixels".into())) };
        (*shape, values.clone(), Some(known))
    } else {
        let idx = crate::idx::read_idx(path, 3).map_err(|e| match e {
            Error::Format { offset: 0, .. } => Error::Image {
                path: path.to_path_buf(),
                reason: format!("not an image ({}), a CIFAR-10 batch (.bin) or an IDX file: {e}", IMAGE_EXTENSIONS.join(", ")),
            },
            e => e,
        })?;
        ([1, idx.dims[1], idx.dims[2]], idx.data, None)
    };
    // The shape first: past it, the number of images follows from the bytes read.
    if found != shape {
        let reason = format!("{}×{} with {} channel(s); the model reads {}×{} with {}", found[2], found[1], found[0], shape[2], shape[1], shape[0]);
        return Err(Error::Image { path: path.to_path_buf(), reason });
    }
    let n = values.len() / shape.iter().product::<usize>().max(1);
    let known = known.map_or_else(|| vec![None; n], |k| k.into_iter().map(Some).collect());
    Ok(crate::Records { ids: (1..=n).map(|i| i.to_string()).collect(), inputs: Inputs::Pixels { shape, values }, known, imputed: Default::default() })
}

/// Every image file under `dir`, sub-folders included, sorted by path.
fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).map_err(|source| Error::Io { path: folder.clone(), source })?.flatten() {
            let p = entry.path();
            if p.is_dir() {
                folders.push(p);
            } else if p.extension().is_some_and(|x| IMAGE_EXTENSIONS.iter().any(|e| x.eq_ignore_ascii_case(e))) {
                files.push(p);
            }
        }
    }
    if files.is_empty() {
        return Err(Error::Missing { dir: dir.to_path_buf(), expected: "PNG or JPEG images".into(), tried: IMAGE_EXTENSIONS.join(", ") });
    }
    files.sort();
    Ok(files)
}

/// Seeded training-time augmentation of images (as in the classic CIFAR-10 recipe): a random crop of the
/// image padded with `crop_padding` zero pixels on each side, and a horizontal flip with probability ½.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Augment {
    /// Zero padding before the random crop back to the original size (4 for CIFAR-10; 0: no crop).
    pub crop_padding: usize,
    /// Flip horizontally with probability ½.
    pub flip: bool,
}

impl Augment {
    /// The CIFAR-10 recipe: pad 4 and crop, flip.
    pub fn cifar() -> Self {
        Self { crop_padding: 4, flip: true }
    }

    /// Augments one channel-major image `[c, h, w]` in place (no allocation), drawing the crop offset and
    /// the flip from `rng`: pixel `(y, x)` becomes pixel `(y + dy, x' + dx)` of the (flipped) image, or 0 outside.
    pub fn apply(&self, image: &mut [f32], shape: [usize; 3], rng: &mut Rng) {
        let [c, h, w] = shape;
        let p = self.crop_padding as i64;
        let (dy, dx) = if p > 0 { (rng.below(2 * p as u64 + 1) as i64 - p, rng.below(2 * p as u64 + 1) as i64 - p) } else { (0, 0) };
        let flip = self.flip && rng.below(2) == 1;
        for plane in image.chunks_exact_mut(h * w).take(c) {
            if flip {
                plane.chunks_exact_mut(w).for_each(<[f32]>::reverse);
            }
            if dy != 0 || dx != 0 {
                shift(plane, h, w, dy, dx);
            }
        }
    }
}

/// Moves a `h × w` plane in place so that `out(y, x) = in(y + dy, x + dx)`, zero outside: rows and columns are
/// visited in the order that reads every source pixel before it is overwritten.
fn shift(plane: &mut [f32], h: usize, w: usize, dy: i64, dx: i64) {
    // Reading ahead (d > 0): ascending; reading behind: descending.
    let at = |i: usize, n: usize, d: i64| if d > 0 { i } else { n - 1 - i };
    for i in 0..h {
        let y = at(i, h, dy);
        for j in 0..w {
            let x = at(j, w, dx);
            let (sy, sx) = (y as i64 + dy, x as i64 + dx);
            let inside = (0..h as i64).contains(&sy) && (0..w as i64).contains(&sx);
            plane[y * w + x] = if inside { plane[sy as usize * w + sx as usize] } else { 0.0 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_in_place_should_match_a_copy() {
        let (h, w) = (4, 5);
        let img: Vec<f32> = (1..=20).map(|v| v as f32).collect();
        for (dy, dx) in [(1, 2), (-1, -2), (0, 3), (0, -1), (2, -1), (-3, 4)] {
            let mut got = img.clone();
            shift(&mut got, h, w, dy, dx);
            let want: Vec<f32> = (0..h * w)
                .map(|k| {
                    let (sy, sx) = ((k / w) as i64 + dy, (k % w) as i64 + dx);
                    if (0..h as i64).contains(&sy) && (0..w as i64).contains(&sx) { img[sy as usize * w + sx as usize] } else { 0.0 }
                })
                .collect();
            assert_eq!(got, want, "shift ({dy}, {dx})");
        }
    }

    #[test]
    fn flips_and_crops_should_move_pixels_and_pad_with_zeros() {
        let img: Vec<f32> = (1..=9).map(|v| v as f32).collect(); // 1 channel, 3×3
        let flip = Augment { crop_padding: 0, flip: true };
        // Find a seed that flips, then check the flip.
        let mut flipped = None;
        for seed in 0..20 {
            let mut x = img.clone();
            flip.apply(&mut x, [1, 3, 3], &mut Rng::new(seed));
            if x != img {
                flipped = Some(x);
                break;
            }
        }
        assert_eq!(flipped.unwrap(), [3.0, 2.0, 1.0, 6.0, 5.0, 4.0, 9.0, 8.0, 7.0]);
        let crop = Augment { crop_padding: 1, flip: false };
        for seed in 0..20 {
            let mut x = img.clone();
            crop.apply(&mut x, [1, 3, 3], &mut Rng::new(seed));
            // Every crop keeps the values it shows in order and fills the rest with zeros.
            let kept: Vec<f32> = x.iter().copied().filter(|&v| v != 0.0).collect();
            assert!(kept.windows(2).all(|p| p[0] < p[1]), "{x:?}");
            assert!(kept.len() >= 4);
        }
        let (mut a, mut b) = (img.clone(), img.clone());
        Augment::cifar().apply(&mut a, [1, 3, 3], &mut Rng::new(7));
        Augment::cifar().apply(&mut b, [1, 3, 3], &mut Rng::new(7));
        assert_eq!(a, b, "seeded");
    }
}
