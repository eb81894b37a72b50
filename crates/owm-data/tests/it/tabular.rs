//! Tabular CSV: missing values (UCI's `?`), duplicates, unknown categories, malformed rows, scaling, encoding
//! and stratified splits, on small files in the exact layouts.

use owm_data::Error;
use owm_data::tabular::{Encoding, Missing, Scaling, TabularOptions, TabularPrep, read_table, stratified_split};

/// The UCI Cleveland heart-disease layout: 14 columns, `?` for missing values, `num` the target.
const HEART: &str = "age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal,num
63,1,1,145,233,1,2,150,0,2.3,3,0,6,0
67,1,4,160,286,0,2,108,1,1.5,2,3,3,2
67,1,4,120,229,0,2,129,1,2.6,2,2,7,1
37,1,3,130,250,0,0,187,0,3.5,3,?,3,0
41,0,2,130,204,0,2,172,0,1.4,1,0,?,0
56,1,2,120,236,0,0,178,0,0.8,1,0,3,0
";

fn write(name: &str, text: &str) -> (owm_testkit::TempDir, std::path::PathBuf) {
    let dir = owm_testkit::tempdir();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn heart_options(missing: Missing) -> TabularOptions {
    TabularOptions { target: "num".into(), missing, ..TabularOptions::default() }
}

#[test]
fn uci_question_marks_should_be_imputed_or_dropped_by_line() {
    let (_dir, path) = write("processed.cleveland.data.csv", HEART);
    let options = heart_options(Missing::Median);
    let table = read_table(&path, &options).unwrap();
    let prep = TabularPrep::fit(&table, &options).unwrap();
    let data = prep.transform(&table, &options).unwrap();
    assert_eq!(data.labels, [0, 2, 1, 0, 0, 0]);
    assert_eq!(data.cleaning.imputed.get("ca"), Some(&1));
    assert_eq!(data.cleaning.imputed.get("thal"), Some(&1));
    assert_eq!(prep.classes, ["0", "1", "2"]);
    assert_eq!(data.features.len(), 6 * 13);

    let options = heart_options(Missing::Drop);
    let prep = TabularPrep::fit(&table, &options).unwrap();
    let data = prep.transform(&table, &options).unwrap();
    // Lines 5 and 6 (the header is line 1) hold the `?`s.
    assert_eq!(data.cleaning.dropped_missing, [5, 6]);
    assert_eq!(data.lines, [2, 3, 4, 7]);
}

#[test]
fn scaling_and_encoding_should_follow_the_training_rows() {
    let (_dir, path) = write("t.csv", "x,colour,y\n1,red,a\n2,blue,b\n3,red,a\n");
    let options = TabularOptions { target: "y".into(), ..TabularOptions::default() };
    let table = read_table(&path, &options).unwrap();
    let prep = TabularPrep::fit(&table, &options).unwrap();
    assert_eq!(prep.feature_names(), ["x", "colour=blue", "colour=red"]);
    let data = prep.transform(&table, &options).unwrap();
    // x: mean 2, population std √(2/3).
    let z = (1.0 / (2.0f64 / 3.0).sqrt()) as f32;
    assert_eq!(data.features, [-z, 0.0, 1.0, 0.0, 1.0, 0.0, z, 0.0, 1.0]);

    for (scaling, first) in [(Scaling::MinMax, 0.0f32), (Scaling::Robust, -1.0), (Scaling::None, 1.0)] {
        let options = TabularOptions { target: "y".into(), scaling, encoding: Encoding::Ordinal, ..TabularOptions::default() };
        let prep = TabularPrep::fit(&table, &options).unwrap();
        let data = prep.transform(&table, &options).unwrap();
        // x's first value, then colour `red` as ordinal 1 (categories sorted: blue, red).
        assert_eq!(data.features[..2], [first, 1.0], "{scaling:?}");
    }
}

#[test]
fn an_unknown_category_at_test_time_should_encode_as_all_zeros() {
    let (_dir, train) = write("train.csv", "x,colour,y\n1,red,a\n2,blue,b\n");
    let test = train.with_file_name("test.csv");
    std::fs::write(&test, "x,colour,y\n1,green,a\n").unwrap();
    let options = TabularOptions { target: "y".into(), scaling: Scaling::None, ..TabularOptions::default() };
    let prep = TabularPrep::fit(&read_table(&train, &options).unwrap(), &options).unwrap();
    let data = prep.transform(&read_table(&test, &options).unwrap(), &options).unwrap();
    assert_eq!(data.features, [1.0, 0.0, 0.0]);
}

#[test]
fn a_row_with_the_wrong_number_of_fields_should_name_its_line() {
    let (_dir, path) = write("bad.csv", "a,b,y\n1,2,x\n3,4\n5,6,x\n");
    let err = read_table(&path, &TabularOptions { target: "y".into(), ..TabularOptions::default() }).unwrap_err();
    assert!(matches!(err, Error::TableRow { line: 3, .. }), "{err}");
    assert!(err.to_string().contains("bad.csv") && err.to_string().contains("2 fields, the header has 3"), "{err}");
}

#[test]
fn a_word_in_a_numeric_column_should_name_line_and_column() {
    let (_dir, train) = write("train.csv", "x,y\n1,a\n2,b\n");
    let test = train.with_file_name("test.csv");
    std::fs::write(&test, "x,y\n1,a\nabc,b\n").unwrap();
    let options = TabularOptions { target: "y".into(), ..TabularOptions::default() };
    let prep = TabularPrep::fit(&read_table(&train, &options).unwrap(), &options).unwrap();
    let err = prep.transform(&read_table(&test, &options).unwrap(), &options).unwrap_err();
    assert!(matches!(err, Error::TableRow { line: 3, .. }), "{err}");
    assert!(err.to_string().contains("column `x`: `abc` is not a number"), "{err}");
}

#[test]
fn an_unknown_target_class_should_name_its_line() {
    let (_dir, train) = write("train.csv", "x,y\n1,a\n2,b\n");
    let test = train.with_file_name("test.csv");
    std::fs::write(&test, "x,y\n1,c\n").unwrap();
    let options = TabularOptions { target: "y".into(), ..TabularOptions::default() };
    let prep = TabularPrep::fit(&read_table(&train, &options).unwrap(), &options).unwrap();
    let err = prep.transform(&read_table(&test, &options).unwrap(), &options).unwrap_err();
    assert!(matches!(err, Error::TableRow { line: 2, .. }) && err.to_string().contains("`c`"), "{err}");
}

#[test]
fn an_unknown_target_column_should_list_the_columns() {
    let (_dir, path) = write("t.csv", "x,y\n1,a\n");
    let options = TabularOptions { target: "label".into(), ..TabularOptions::default() };
    let err = TabularPrep::fit(&read_table(&path, &options).unwrap(), &options).unwrap_err();
    assert!(matches!(err, Error::TableColumn { .. }) && err.to_string().contains("columns: x, y"), "{err}");
}

#[test]
fn duplicates_should_be_dropped_by_line_when_asked() {
    let (_dir, path) = write("t.csv", "x,y\n1,a\n2,b\n1,a\n");
    let options = TabularOptions { target: "y".into(), drop_duplicates: true, ..TabularOptions::default() };
    let table = read_table(&path, &options).unwrap();
    let data = TabularPrep::fit(&table, &options).unwrap().transform(&table, &options).unwrap();
    assert_eq!((data.cleaning.dropped_duplicates.clone(), data.lines.clone()), (vec![4], vec![2, 3]));
}

#[test]
fn a_stratified_split_should_keep_class_proportions_and_be_seeded() {
    let labels: Vec<usize> = (0..100).map(|i| usize::from(i % 10 == 0)).collect(); // 10% class 1
    let (train, test) = stratified_split(&labels, 0.2, 5);
    assert_eq!((train.len(), test.len()), (80, 20));
    assert_eq!(test.iter().filter(|&&i| labels[i] == 1).count(), 2);
    assert_eq!(stratified_split(&labels, 0.2, 5), (train.clone(), test.clone()));
    assert_ne!(stratified_split(&labels, 0.2, 6).1, test);
}

#[test]
fn values_near_the_float_limits_should_standardise_or_be_refused_by_line() {
    // Their sum and squared deviations overflow f64 when computed naively.
    let (_dir, path) = write("huge.csv", "x,y\n1.5e308,a\n1.6e308,b\n-1.7e308,a\n");
    let options = TabularOptions { target: "y".into(), ..TabularOptions::default() };
    let table = read_table(&path, &options).unwrap();
    let prep = TabularPrep::fit(&table, &options).unwrap();
    let data = prep.transform(&table, &options).unwrap();
    assert!(data.features.iter().all(|v| v.is_finite() && v.abs() < 2.0), "{:?}", data.features);
    // Unscaled, 1e39 does not fit an f32 feature: refused naming the line and column.
    let (_dir, path) = write("wide.csv", "x,y\n1e39,a\n1,b\n");
    let options = TabularOptions { target: "y".into(), scaling: Scaling::None, ..TabularOptions::default() };
    let table = read_table(&path, &options).unwrap();
    let err = TabularPrep::fit(&table, &options).unwrap().transform(&table, &options).unwrap_err();
    assert!(matches!(err, Error::TableRow { line: 2, .. }) && err.to_string().contains("column `x`"), "{err}");
}
