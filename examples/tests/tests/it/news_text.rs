//! Runs the example on a separable Chinese news corpus generated in the THUCNews `label<TAB>text` layout:
//! each class has its own topic words, all classes share filler words, and every text mixes both.

use std::fmt::Write as _;
use std::path::Path;

use news_text::{Config, run};
use owm::core::{BackendKind, Rng};
use owm::data::text::{Piece, Tokenizer};

const TOPICS: [(&str, [&str; 6]); 4] = [
    ("体育", ["足球", "比赛", "球队", "进球", "冠军", "教练"]),
    ("财经", ["股票", "市场", "银行", "投资", "利率", "基金"]),
    ("科技", ["手机", "芯片", "互联网", "软件", "人工智能", "数据"]),
    ("娱乐", ["电影", "演员", "导演", "音乐", "综艺", "明星"]),
];
const FILLER: [&str; 8] = ["今天", "我们", "认为", "已经", "表示", "发展", "记者", "报道"];

fn write_corpus(path: &Path, n: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut out = String::new();
    for i in 0..n {
        let (label, words) = TOPICS[i % TOPICS.len()];
        let mut text = String::new();
        for k in 0..12 {
            // Two words in three are filler, shared by every class.
            let word = if k % 3 == 0 { words[rng.below(6) as usize] } else { FILLER[rng.below(8) as usize] };
            text.push_str(word);
            if k % 4 == 3 {
                text.push('，');
            }
        }
        text.push('。');
        let _ = writeln!(out, "{label}\t{text}");
    }
    std::fs::write(path, out).unwrap();
}

fn config(dir: &Path, device: BackendKind, tokenizer: Tokenizer, cnn: bool) -> Config {
    Config {
        train: dir.join("cnews.train.txt"),
        test: Some(dir.join("cnews.test.txt")),
        tokenizer,
        max_len: 24,
        cnn,
        dim: 16,
        out: dir.join(format!("run-{}-{cnn}", device.name())),
        epochs: 8,
        device,
        seed: 5,
        quiet: true,
    }
}

fn corpus() -> owm_testkit::TempDir {
    let dir = owm_testkit::tempdir();
    write_corpus(&dir.path().join("cnews.train.txt"), 400, 1);
    write_corpus(&dir.path().join("cnews.test.txt"), 120, 2);
    dir
}

#[test]
fn embedding_bag_over_jieba_words_should_reach_095() {
    let dir = corpus();
    let report = run(&config(dir.path(), BackendKind::Flex, Piece::Jieba.into(), false)).unwrap();
    eprintln!(
        "news text, embedding bag over jieba words: accuracy {:.4}, macro F1 {:.4}",
        report.evaluation.report.accuracy, report.evaluation.report.macro_f1
    );
    assert!(report.evaluation.report.accuracy >= 0.95, "test accuracy {}", report.evaluation.report.accuracy);
    let mut classes = report.class_names.clone();
    classes.sort();
    assert_eq!(report.class_names, classes, "classes are the sorted labels");
    // The vocabulary is in the bundle: jieba kept the topic words whole.
    let vocab: Vec<String> = report.manifest.preprocessing["vocab"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(&vocab[..2], ["<pad>", "<unk>"]);
    assert!(vocab.iter().any(|t| t == "人工智能"), "{vocab:?}");
}

#[test]
fn text_cnn_over_characters_should_reach_095() {
    let dir = corpus();
    let report = run(&config(dir.path(), BackendKind::Flex, Piece::Chars.into(), true)).unwrap();
    eprintln!("news text, text CNN over characters: accuracy {:.4}", report.evaluation.report.accuracy);
    assert!(report.evaluation.report.accuracy >= 0.95, "test accuracy {}", report.evaluation.report.accuracy);
}

#[test]
fn an_unknown_test_label_should_name_file_and_line() {
    let dir = corpus();
    let test = dir.path().join("cnews.test.txt");
    let mut text = std::fs::read_to_string(&test).unwrap();
    text.push_str("时政\t今天记者报道\n");
    std::fs::write(&test, text).unwrap();
    let err = run(&config(dir.path(), BackendKind::Flex, Piece::Jieba.into(), false)).unwrap_err().to_string();
    assert!(err.contains("cnews.test.txt") && err.contains("line 121") && err.contains("时政"), "{err}");
}

#[test]
fn should_train_on_wgpu() {
    let dir = corpus();
    let report = run(&config(dir.path(), BackendKind::Wgpu, Piece::Jieba.into(), false)).unwrap();
    assert_eq!(report.manifest.backend, "wgpu");
    assert!(report.evaluation.report.accuracy >= 0.95, "wgpu test accuracy {}", report.evaluation.report.accuracy);
}
