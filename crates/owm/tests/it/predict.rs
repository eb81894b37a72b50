//! `owm predict BUNDLE --data FILE`: the bundle's recorded preprocessing applied to raw records.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

use crate::owm;
use crate::tasks::{accuracy, write_clicks, write_table};
use owm::core::Rng;
use owm::data::Inputs;
use owm_testkit::text;

/// The agreement `owm predict --out` prints for records with a known class.
fn agreement(out: &Output) -> f64 {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .split("agree with it (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no agreement in {}", text(out)))
}

/// `owm predict run --check` in `dir`: the stored example gives its stored outputs bit for bit.
fn checked(dir: &Path) {
    let out = owm(dir, &["predict", "run", "--check"]);
    assert!(out.status.success() && text(&out).contains("gives its stored outputs bit for bit"), "{}", text(&out));
}

fn refused(dir: &Path, data: &str, expected: &[&str]) {
    let out = owm(dir, &["predict", "run", "--data", data, "--out", "refused.csv"]);
    let message = text(&out);
    assert!(!out.status.success() && expected.iter().all(|e| message.contains(e)), "{message}");
    assert!(!dir.join("refused.csv").exists(), "nothing is written on error");
}

#[test]
fn predict_should_agree_with_the_evaluation_of_a_table_and_refuse_other_schemas() {
    let dir = owm_testkit::tempdir();
    write_table(&dir.path().join("train.csv"), 300, 1, &["red", "blue"]);
    // Missing values and a colour training never saw: filled and encoded as in the test split.
    write_table(&dir.path().join("test.csv"), 100, 2, &["red", "blue", "green"]);
    let args = ["train", "--task", "tabular", "--data", "train.csv", "--test-data", "test.csv", "--target", "y", "--epochs", "20", "--out", "run", "--quiet"];
    let trained = owm(dir.path(), &args);
    assert!(trained.status.success(), "{}", text(&trained));
    let out = owm(dir.path(), &["predict", "run", "--data", "test.csv", "--out", "predictions.csv"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(agreement(&out), accuracy(&trained), "predict scores the test file as the evaluation did");
    let csv = std::fs::read_to_string(dir.path().join("predictions.csv")).unwrap();
    let digest = owm::share::verify_bundle(dir.path().join("run/bundle"), None).unwrap().manifest.bundle_digest;
    assert!(csv.starts_with("record,label,p_no,p_yes,known,bundle_digest\n2,"), "{csv}");
    assert_eq!(csv.lines().count(), 101);
    assert!(csv.lines().skip(1).all(|l| l.ends_with(&digest)), "every row names the bundle");

    // Records without the target column, as JSON Lines.
    let rows: String =
        std::fs::read_to_string(dir.path().join("test.csv")).unwrap().lines().map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n").collect();
    std::fs::write(dir.path().join("unlabelled.csv"), rows).unwrap();
    let out = owm(dir.path(), &["predict", "run", "--data", "unlabelled.csv", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let first: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!((first["record"].as_str(), first["bundle_digest"].as_str()), (Some("2"), Some(digest.as_str())));
    assert!(first.get("known").is_none() && first["probabilities"].as_array().unwrap().len() == 2, "{first}");

    checked(dir.path());
    // The same weights with other stored outputs: the check fails (exit 3) and says by how much.
    let predictor = owm::train::Predictor::load(&dir.path().join("run/bundle"), owm::core::BackendKind::Flex, None).unwrap();
    let mut manifest = owm::share::verify_bundle(dir.path().join("run/bundle"), None).unwrap().manifest;
    let stored = predictor.stored_input().unwrap();
    assert_eq!(stored.signature.fields.iter().map(|f| (f.name.as_str(), f.numeric)).collect::<Vec<_>>(), [("x", true), ("colour", false)]);
    let p = &mut manifest.input["example"]["probabilities"][0][0];
    *p = serde_json::json!(p.as_f64().unwrap() + 1e-12);
    (manifest.trace, manifest.files) = (None, Default::default());
    owm::share::save_bundle(dir.path().join("altered"), predictor.model(), manifest).unwrap();
    let out = owm(dir.path(), &["predict", "altered", "--check"]);
    assert!(out.status.code() == Some(3) && text(&out).contains("differs from its stored outputs: largest probability difference 1.00e-12"), "{}", text(&out));

    std::fs::write(dir.path().join("no_x.csv"), "colour,y\nred,yes\n").unwrap();
    refused(dir.path(), "no_x.csv", &["no_x.csv", "`x`"]);
    std::fs::write(dir.path().join("extra.csv"), "x,colour,z,y\n1.0,red,3,yes\n").unwrap();
    refused(dir.path(), "extra.csv", &["extra.csv", "column `z` was not among the training columns"]);
    std::fs::write(dir.path().join("word.csv"), "x,colour,y\n1.0,red,yes\nten,red,yes\n").unwrap();
    refused(dir.path(), "word.csv", &["word.csv", "line 3", "column `x`: `ten` is not a number"]);
}

/// Headlines of two topics in `dir/train.txt` (160) and `dir/test.txt` (40), as `label<TAB>text` lines.
pub(crate) fn write_headlines(dir: &Path) {
    let mut rng = Rng::new(3);
    let topics = [("体育", ["足球", "比赛", "球队"]), ("财经", ["股票", "银行", "基金"])];
    for (file, n) in [("train.txt", 160), ("test.txt", 40)] {
        let mut out = String::new();
        for i in 0..n {
            let (label, words) = topics[i % 2];
            let body: String = (0..6).map(|k| if k % 2 == 0 { words[rng.below(3) as usize] } else { "今天记者" }).collect();
            let _ = writeln!(out, "{label}\t{body}。");
        }
        std::fs::write(dir.join(file), out).unwrap();
    }
}

#[test]
fn predict_should_agree_with_the_evaluation_of_texts_with_or_without_labels() {
    let dir = owm_testkit::tempdir();
    write_headlines(dir.path());
    let args = ["train", "--task", "text", "--data", "train.txt", "--test-data", "test.txt", "--tokenizer", "chars+char-bigrams+jieba"];
    let trained = owm(dir.path(), &[&args[..], &["--max-len", "32", "--dim", "8", "--lr", "0.01", "--epochs", "5", "--out", "run", "--quiet"]].concat());
    assert!(trained.status.success(), "{}", text(&trained));
    let out = owm(dir.path(), &["predict", "run", "--data", "test.txt", "--out", "predictions.jsonl"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(agreement(&out), accuracy(&trained));
    std::fs::write(dir.path().join("new.txt"), "股票银行基金\n\n足球比赛球队，外星词汇\n").unwrap();
    let out = owm(dir.path(), &["predict", "run", "--data", "new.txt"]);
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && csv.lines().count() == 3, "{}", text(&out));
    assert!(csv.lines().nth(1).unwrap().starts_with("1,财经,") && csv.lines().nth(2).unwrap().starts_with("3,体育,"), "{csv}");
    checked(dir.path());
}

/// `size`×`size` grey PNGs under `dir/shapes/{train,test}/{left,right}/` ("left" images are bright on the
/// left half, "right" ones on the right).
pub(crate) fn write_shapes(dir: &Path, size: u32) {
    let mut rng = Rng::new(7);
    for (side, n) in [("train", 40), ("test", 10)] {
        for class in ["left", "right"] {
            let folder = dir.join("shapes").join(side).join(class);
            std::fs::create_dir_all(&folder).unwrap();
            for i in 0..n {
                let img = image::GrayImage::from_fn(size, size, |x, _| {
                    image::Luma([if (x < size / 2) == (class == "left") { 120 + rng.below(100) as u8 } else { rng.below(90) as u8 }])
                });
                img.save(folder.join(format!("{i}.png"))).unwrap();
            }
        }
    }
}

/// 8×8 shapes ([`write_shapes`]) and an MLP trained on them into `dir/run`; `owm train`'s output.
pub(crate) fn train_shapes(dir: &Path) -> Output {
    write_shapes(dir, 8);
    let args = ["train", "--task", "image", "--data", "shapes", "--grayscale", "--model", "mlp", "--hidden", "16", "--epochs", "3", "--out", "run", "--quiet"];
    let trained = owm(dir, &args);
    assert!(trained.status.success(), "{}", text(&trained));
    trained
}

#[test]
fn predict_should_agree_with_the_evaluation_of_images_and_refuse_another_size() {
    let dir = owm_testkit::tempdir();
    let trained = train_shapes(dir.path());
    let out = owm(dir.path(), &["predict", "run", "--data", "shapes/test", "--out", "predictions.csv"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(agreement(&out), accuracy(&trained), "the folder names give the known classes");
    let csv = std::fs::read_to_string(dir.path().join("predictions.csv")).unwrap();
    assert!(csv.lines().nth(1).unwrap().starts_with("left/0.png,"), "{csv}");
    let out = owm(dir.path(), &["predict", "run", "--data", "shapes/test/right/3.png"]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).lines().count() == 2, "{}", text(&out));
    image::GrayImage::new(9, 8).save(dir.path().join("wide.png")).unwrap();
    refused(dir.path(), "wide.png", &["wide.png", "9×8 with 1 channel(s); the model reads 8×8 with 1"]);
    checked(dir.path());
}

/// Side features of the users and items of [`write_clicks`]: `dir/users.csv` (`user,parity`) and
/// `dir/items.csv` (`item,parity,decade`).
pub(crate) fn write_sides(dir: &Path) {
    let users: String = (0..40).map(|u| format!("u{u},{}\n", ["even", "odd"][u % 2])).collect();
    std::fs::write(dir.join("users.csv"), format!("user,parity\n{users}")).unwrap();
    let items: String = (0..20).map(|i| format!("i{i},{},d{}\n", ["even", "odd"][i % 2], i / 10)).collect();
    std::fs::write(dir.join("items.csv"), format!("item,parity,decade\n{items}")).unwrap();
}

/// `dir/pairs.csv`: for 8 users of [`write_clicks`], an item of their own parity, then one of the other.
pub(crate) fn write_pairs(dir: &Path) {
    let pairs: String = (0..8).map(|u| format!("u{u},i{}\nu{u},i{}\n", 2 * (u % 5) + u % 2, 2 * (u % 5) + 1 - u % 2)).collect();
    std::fs::write(dir.join("pairs.csv"), format!("user,item\n{pairs}")).unwrap();
}

/// Trains `owm train --task recsys --data clicks.csv ARGS` into `dir/run` and predicts on [`write_pairs`]: the
/// item of the user's own parity must score higher for at least 7 of the 8 users.
fn ranks_own_parity(dir: &Path, args: &[&str]) {
    write_clicks(&dir.join("clicks.csv"), "user,item,label\n");
    write_pairs(dir);
    let train = ["train", "--task", "recsys", "--data", "clicks.csv", "--epochs", "20", "--out", "run", "--quiet"];
    let trained = owm(dir, &[&train[..], args].concat());
    assert!(trained.status.success(), "{}", text(&trained));
    let out = owm(dir, &["predict", "run", "--data", "pairs.csv", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 16);
    let p_yes = |r: &serde_json::Value| r["probabilities"][1].as_f64().unwrap();
    let ranked = rows.chunks(2).filter(|pair| p_yes(&pair[0]) > p_yes(&pair[1])).count();
    assert!(ranked >= 7, "the same-parity item scores higher for {ranked} of 8 users: {rows:?}");
}

#[test]
fn predict_should_score_interactions_with_side_features() {
    let dir = owm_testkit::tempdir();
    write_sides(dir.path());
    // Parity is a side feature on both sides.
    ranks_own_parity(dir.path(), &["--model", "fm", "--user-features", "users.csv", "--item-features", "items.csv"]);
    checked(dir.path());
}

/// Predictions on `file` and on the folder `folder` of the same images in the same order: the same
/// probabilities.
fn same_predictions(dir: &Path, run: &str, file: &str, folder: &str) {
    let predict = |data: &str| {
        let out = owm(dir, &["predict", run, "--data", data, "--json"]);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["probabilities"].clone()).collect::<Vec<_>>()
    };
    let (from_file, from_folder) = (predict(file), predict(folder));
    assert_eq!(from_file.len(), 20);
    assert_eq!(from_file, from_folder, "{file}");
}

#[test]
fn predict_should_read_images_from_idx_and_cifar_files() {
    let dir = owm_testkit::tempdir();
    train_shapes(dir.path());
    let test = dir.path().join("shapes/test");
    let Inputs::Pixels { values, .. } = owm::data::read_image_records(&test, [1, 8, 8]).unwrap().inputs else { panic!("pixels") };
    std::fs::write(dir.path().join("test-images-idx3-ubyte"), owm::data::encode_idx(&[20, 8, 8], &values)).unwrap();
    same_predictions(dir.path(), "run", "test-images-idx3-ubyte", "shapes/test");
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    refused(dir.path(), "notes.txt", &["notes.txt", "not an image (png, jpg, jpeg), a CIFAR-10 batch (.bin) or an IDX file"]);

    // A CIFAR-10 batch: 32×32 colour images, each record's label its known class.
    let colour = owm_testkit::tempdir();
    write_shapes(colour.path(), 32);
    let args = ["train", "--task", "image", "--data", "shapes", "--model", "mlp", "--hidden", "8", "--epochs", "1", "--out", "run", "--quiet"];
    let trained = owm(colour.path(), &args);
    assert!(trained.status.success(), "{}", text(&trained));
    let Inputs::Pixels { values, .. } = owm::data::read_image_records(&colour.path().join("shapes/test"), [3, 32, 32]).unwrap().inputs else {
        panic!("pixels")
    };
    let records: Vec<(u8, Vec<u8>)> = values.chunks(3072).enumerate().map(|(i, p)| ((i / 10) as u8, p.to_vec())).collect();
    std::fs::write(colour.path().join("test_batch.bin"), owm::data::encode_cifar_batch(&records)).unwrap();
    same_predictions(colour.path(), "run", "test_batch.bin", "shapes/test");
    let out = owm(colour.path(), &["predict", "run", "--data", "test_batch.bin", "--json"]);
    let last: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!((last["record"].as_str(), last["known"].as_str()), (Some("20"), Some("automobile")), "{last}");
}

#[test]
fn predict_should_score_interactions_and_refuse_an_unseen_user() {
    let dir = owm_testkit::tempdir();
    // Odd users click odd items, even users even items: pairs without labels, each user's own parity first.
    ranks_own_parity(dir.path(), &[]);
    std::fs::write(dir.path().join("stranger.csv"), "u1,i1\nu999,i1\n").unwrap();
    refused(dir.path(), "stranger.csv", &["stranger.csv", "line 2", "user `u999` did not occur in training"]);
    checked(dir.path());
}
