//! The `label<TAB>text` layout end to end on a generated Chinese news file.

use owm_data::Error;
use owm_data::text::{TextOptions, Tokenizer, Vocab, read_labelled_text, tokenize};

#[test]
fn a_thucnews_style_file_should_read_tokenize_and_encode() {
    let dir = owm_testkit::tempdir();
    let path = dir.path().join("news.txt");
    std::fs::write(&path, "体育\t球队赢得比赛\n\n财经\t股市上涨\n体育\t比赛结束\n").unwrap();
    let items = read_labelled_text(&path).unwrap();
    assert_eq!(items.iter().map(|i| (i.line, i.label.as_str())).collect::<Vec<_>>(), [(1, "体育"), (3, "财经"), (4, "体育")]);
    let options = TextOptions { tokenizer: Tokenizer::CharBigrams, ..TextOptions::default() };
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
