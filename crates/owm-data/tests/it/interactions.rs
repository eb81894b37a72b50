//! `user,item,label[,timestamp]` files: id encoding, negative sampling, random and chronological splits.

use owm_data::Error;
use owm_data::interactions::read_interactions;

fn write(text: &str) -> (owm_testkit::TempDir, std::path::PathBuf) {
    let dir = owm_testkit::tempdir();
    let path = dir.path().join("clicks.csv");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

const CLICKS: &str = "user,item,click,timestamp
u1,i1,1,100
u1,i2,0,200
u2,i1,1,150
u1,i3,1,300
u2,i4,1,120
u3,i2,1,50
";

#[test]
fn ids_should_be_encoded_in_order_of_first_appearance() {
    let (_dir, path) = write(CLICKS);
    let data = read_interactions(&path).unwrap();
    assert_eq!(data.users, ["u1", "u2", "u3"]);
    assert_eq!(data.items, ["i1", "i2", "i3", "i4"]);
    assert_eq!(data.rows.len(), 6);
    assert_eq!((data.rows[3].user, data.rows[3].item, data.rows[3].label, data.rows[3].timestamp, data.rows[3].line), (0, 2, 1.0, Some(300), 5));
}

#[test]
fn negatives_should_be_items_the_user_never_saw_and_seeded() {
    let (_dir, path) = write(CLICKS);
    let data = read_interactions(&path).unwrap();
    let negatives = data.negatives(3, 9);
    // Five positives; u1 saw i1, i2, i3, so its negatives can only be i4.
    assert_eq!(negatives.len(), 5 * 3);
    for n in &negatives {
        assert_eq!(n.label, 0.0);
        assert!(!data.rows.iter().any(|r| r.user == n.user && r.item == n.item), "{n:?}");
    }
    assert!(negatives.iter().filter(|n| n.user == 0).all(|n| n.item == 3));
    assert_eq!(data.negatives(3, 9), negatives);
}

#[test]
fn a_chronological_split_should_test_each_user_on_their_latest_interactions() {
    let (_dir, path) = write(CLICKS);
    let data = read_interactions(&path).unwrap();
    let (train, test) = data.chronological_split(0.5, &path).unwrap();
    // u1: 100, 200, 300 → the latest (row 3, t=300) and, rounding 1.5 up, also row 1 (t=200); u2: row 2 (t=150);
    // u3 has one interaction: it stays in training.
    assert_eq!(test, [1, 2, 3]);
    assert_eq!(train, [0, 4, 5]);
}

/// After a chronological split, the validation rows are each user's latest training rows: every user's
/// training rows come before their validation rows, which come before their test rows.
#[test]
fn a_chronological_split_should_validate_each_user_on_their_latest_training_rows() {
    let mut text = String::from("user,item,click,timestamp\n");
    for u in 0..4 {
        for t in 0..10 {
            text.push_str(&format!("u{u},i{},{},{}\n", (u * 3 + t) % 7, (u + t) % 2, 1000 - 37 * t + u));
        }
    }
    let (_dir, path) = write(&text);
    let options = owm_data::InteractionOptions { split: owm_data::InteractionSplit::Chronological, negatives: 0, ..Default::default() };
    let config =
        owm_data::DataConfig { validation_fraction: 0.2, ..owm_data::DataConfig::new(owm_data::DataSource::Interactions { path: path.clone(), options }) };
    let splits = config.load(3).unwrap();
    let validation = splits.validation.unwrap();
    assert_eq!((splits.train.len(), validation.len(), splits.test.len()), (24, 8, 8), "per user: 10 → 8 training (6 + 2 validation) and 2 test");
    // The rows' times, by user, read back from the file through the same order as the splits.
    let data = read_interactions(&path).unwrap();
    let (train, test) = data.chronological_split(0.2, &path).unwrap();
    let (kept, held) = data.latest(&train, 0.2, &path).unwrap();
    let time = |rows: &[usize], u: usize| rows.iter().filter(|&&i| data.rows[i].user == u).map(|&i| data.rows[i].timestamp.unwrap()).collect::<Vec<_>>();
    for u in 0..4 {
        let (k, h, t) = (time(&kept, u), time(&held, u), time(&test, u));
        assert!(k.iter().max() < h.iter().min() && h.iter().max() < t.iter().min(), "user {u}: {k:?} {h:?} {t:?}");
    }
    assert_eq!(validation.groups().unwrap().len(), held.len());
}

#[test]
fn a_random_split_should_be_seeded() {
    let (_dir, path) = write(CLICKS);
    let data = read_interactions(&path).unwrap();
    let (train, test) = data.random_split(0.5, 1);
    assert_eq!((train.len(), test.len()), (3, 3));
    assert_eq!(data.random_split(0.5, 1), (train, test));
}

#[test]
fn bad_rows_should_name_their_line() {
    let (_dir, path) = write("u1,i1,1\nu2,i2\n");
    assert!(matches!(read_interactions(&path), Err(Error::TableRow { line: 2, .. })));
    let (_dir, path) = write("user,item,label\nu1,i1,yes\n");
    let err = read_interactions(&path).unwrap_err();
    assert!(matches!(err, Error::TableRow { line: 2, .. }) && err.to_string().contains("`yes`"), "{err}");
    let (_dir, path) = write("u1,i1,1,noon\n");
    assert!(matches!(read_interactions(&path), Err(Error::TableRow { line: 1, .. })));
    let (_dir, path) = write("u1,i1,1\n");
    let data = read_interactions(&path).unwrap();
    assert!(matches!(data.chronological_split(0.5, &path), Err(Error::TableRow { line: 1, .. })));
}
