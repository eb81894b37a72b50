//! The `label<TAB>text` layout end to end on a generated Chinese news file.

use owm_data::Error;
use owm_data::text::{Piece, TextOptions, Vocab, read_labelled_text, tokenize};

#[test]
fn a_thucnews_style_file_should_read_tokenize_and_encode() {
    let dir = owm_testkit::tempdir();
    let path = dir.path().join("news.txt");
    std::fs::write(&path, "体育\t球队赢得比赛\n\n财经\t股市上涨\n体育\t比赛结束\n").unwrap();
    let items = read_labelled_text(&path).unwrap();
    assert_eq!(items.iter().map(|i| (i.line, i.label.as_str())).collect::<Vec<_>>(), [(1, "体育"), (3, "财经"), (4, "体育")]);
    let options = TextOptions { tokenizer: Piece::CharBigrams.into(), ..TextOptions::default() };
    let docs: Vec<Vec<String>> = items.iter().map(|i| tokenize(&i.text, &options)).collect();
    let vocab = Vocab::fit(&docs, 2, None);
    assert_eq!(vocab.tokens, ["<pad>", "<unk>", "比赛"]);
    assert_eq!(vocab.encode(&docs[2], 4), [2, 1, 1, 0]);
}

#[test]
fn a_line_without_a_tab_should_name_its_line() {
    let dir = owm_testkit::tempdir();
    let path = dir.path().join("news.txt");
    std::fs::write(&path, "体育\t球赛\n没有标签的一行\n").unwrap();
    let err = read_labelled_text(&path).unwrap_err();
    assert!(matches!(err, Error::TableRow { line: 2, .. }) && err.to_string().contains("news.txt"), "{err}");
}

#[test]
fn should_read_texts_from_csv_columns() {
    let dir = owm_testkit::tempdir();
    let path = dir.path().join("news.csv");
    std::fs::write(&path, "id,category,content\n1,体育,\"足球比赛，球队进球\"\n2,财经,\"股票\n市场\"\n3,,空标签\n").unwrap();
    let err = owm_data::text::read_labelled_csv(&path, "category", "content").unwrap_err().to_string();
    assert!(err.contains("news.csv") && err.contains("line 5") && err.contains("empty label"), "{err}");
    std::fs::write(&path, "id,category,content\n1,体育,\"足球比赛，球队进球\"\n2,财经,\"股票\n市场\"\n").unwrap();
    let rows = owm_data::text::read_labelled_csv(&path, "category", "content").unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[1].line, rows[1].label.as_str(), rows[1].text.as_str()), (3, "财经", "股票\n市场"));
    let err = owm_data::text::read_labelled_csv(&path, "label", "content").unwrap_err().to_string();
    assert!(err.contains("label"), "{err}");
}
