//! Text for classification: Unicode normalisation, tokenisation for space-separated languages and for
//! Chinese (characters, character bigrams, or words by jieba), a vocabulary with a minimum frequency and a
//! size cap, padding and truncation, and the `label<TAB>text` file layout (THUCNews style).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::{Error, Result};

/// How text is split into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tokenizer {
    /// Runs of letters and digits; punctuation is dropped (space-separated languages).
    Words,
    /// Every character that is not whitespace or punctuation (Chinese, Japanese).
    Chars,
    /// Overlapping pairs of such characters, plus single characters for one-character texts.
    CharBigrams,
    /// Every such character, then every overlapping pair of them: fastText's character n-grams of lengths 1
    /// and 2 (for Chinese, where a pair is often a word).
    CharsAndBigrams,
    /// Chinese words segmented by jieba (its embedded dictionary, HMM for unknown words); punctuation and
    /// whitespace are dropped.
    Jieba,
}

/// Normalisation and tokenisation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TextOptions {
    /// The tokenizer.
    pub tokenizer: Tokenizer,
    /// Apply Unicode NFKC (full-width letters, digits and punctuation become their usual forms).
    pub nfkc: bool,
    /// Lower-case.
    pub lowercase: bool,
}

impl Default for TextOptions {
    fn default() -> Self {
        Self { tokenizer: Tokenizer::Words, nfkc: true, lowercase: true }
    }
}

fn jieba() -> &'static jieba_rs::Jieba {
    static JIEBA: OnceLock<jieba_rs::Jieba> = OnceLock::new();
    JIEBA.get_or_init(jieba_rs::Jieba::new)
}

fn is_token_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// The tokens of `text` under `options`.
pub fn tokenize(text: &str, options: &TextOptions) -> Vec<String> {
    let mut text: String = if options.nfkc { text.nfkc().collect() } else { text.to_string() };
    if options.lowercase {
        text = text.to_lowercase();
    }
    match options.tokenizer {
        Tokenizer::Words => text.split(|c: char| !is_token_char(c)).filter(|w| !w.is_empty()).map(str::to_string).collect(),
        Tokenizer::Chars => text.chars().filter(|&c| is_token_char(c)).map(String::from).collect(),
        Tokenizer::CharBigrams => {
            let chars: Vec<char> = text.chars().filter(|&c| is_token_char(c)).collect();
            if chars.len() == 1 {
                return vec![chars[0].to_string()];
            }
            chars.windows(2).map(|w| w.iter().collect()).collect()
        }
        Tokenizer::CharsAndBigrams => {
            let chars: Vec<char> = text.chars().filter(|&c| is_token_char(c)).collect();
            chars.iter().map(|c| c.to_string()).chain(chars.windows(2).map(|w| w.iter().collect())).collect()
        }
        Tokenizer::Jieba => jieba().cut(&text, true).into_iter().filter(|w| w.chars().any(is_token_char)).map(str::to_string).collect(),
    }
}

/// Token ↔ id: id 0 is padding (`<pad>`), id 1 unknown tokens (`<unk>`), then tokens by decreasing
/// frequency (ties in code-point order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vocab {
    /// Tokens by id.
    pub tokens: Vec<String>,
    #[serde(skip)]
    index: BTreeMap<String, u32>,
}

/// The padding id.
pub const PAD: u32 = 0;
/// The unknown-token id.
pub const UNK: u32 = 1;

impl Vocab {
    /// Builds the vocabulary of `docs` (token lists): tokens seen at least `min_freq` times, at most
    /// `max_size` of them (besides `<pad>` and `<unk>`).
    pub fn fit<'a>(docs: impl IntoIterator<Item = &'a Vec<String>>, min_freq: usize, max_size: Option<usize>) -> Self {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for doc in docs {
            for t in doc {
                *counts.entry(t.as_str()).or_default() += 1;
            }
        }
        let mut ranked: Vec<(&str, usize)> = counts.into_iter().filter(|(_, n)| *n >= min_freq.max(1)).collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        ranked.truncate(max_size.unwrap_or(usize::MAX));
        let tokens: Vec<String> = ["<pad>", "<unk>"].into_iter().chain(ranked.iter().map(|(t, _)| *t)).map(String::from).collect();
        Self::from_tokens(tokens)
    }

    /// A vocabulary from its token list (as serialised).
    pub fn from_tokens(tokens: Vec<String>) -> Self {
        let index = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        Self { tokens, index }
    }

    /// Number of ids, `<pad>` and `<unk>` included.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether only `<pad>` and `<unk>` are in it.
    pub fn is_empty(&self) -> bool {
        self.tokens.len() <= 2
    }

    /// Ids of `tokens`, truncated to `max_len` and padded with [`PAD`] to exactly `max_len`.
    pub fn encode(&self, tokens: &[String], max_len: usize) -> Vec<u32> {
        let mut ids: Vec<u32> = tokens.iter().take(max_len).map(|t| self.index.get(t).copied().unwrap_or(UNK)).collect();
        ids.resize(max_len, PAD);
        ids
    }
}

/// One labelled text and the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledText {
    /// 1-based line number.
    pub line: u64,
    /// The label.
    pub label: String,
    /// The text.
    pub text: String,
}

/// Reads a `label<TAB>text` file (the THUCNews layout), one item per non-empty line.
///
/// # Errors
///
/// [`Error::Table`] when the file cannot be read or is not UTF-8; [`Error::TableRow`] naming the line of a
/// line without a tab or with an empty label.
pub fn read_labelled_text(path: &Path) -> Result<Vec<LabelledText>> {
    let bytes = crate::error::read_file(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Error::Table { path: path.to_path_buf(), reason: format!("not UTF-8 at byte {}", e.utf8_error().valid_up_to()) })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let err = |reason: &str| Error::TableRow { path: path.to_path_buf(), line: number, reason: reason.into() };
        let (label, body) = line.split_once('\t').ok_or_else(|| err("no tab between label and text"))?;
        if label.trim().is_empty() {
            return Err(err("empty label"));
        }
        out.push(LabelledText { line: number, label: label.trim().to_string(), text: body.to_string() });
    }
    Ok(out)
}

/// Reads labelled texts from a CSV file with a header, taking the label and the text from the named columns
/// (quoted fields may hold commas and line breaks); rows with an empty text are kept, with an empty text.
///
/// # Errors
///
/// [`Error::Table`] when the file cannot be read; [`Error::TableColumn`] for a column the header lacks;
/// [`Error::TableRow`] naming the line of a row that does not parse or has an empty label.
pub fn read_labelled_csv(path: &Path, label_column: &str, text_column: &str) -> Result<Vec<LabelledText>> {
    let table = crate::tabular::read_table(path, &crate::tabular::TabularOptions { missing_values: Vec::new(), ..Default::default() })?;
    let (label, text) = (table.column(label_column)?, table.column(text_column)?);
    table
        .rows
        .iter()
        .map(|(line, row)| match row[label].as_deref().map(str::trim) {
            Some(l) if !l.is_empty() => Ok(LabelledText { line: *line, label: l.to_string(), text: row[text].clone().unwrap_or_default() }),
            _ => Err(Error::TableRow { path: path.to_path_buf(), line: *line, reason: "empty label".into() }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str, tokenizer: Tokenizer) -> Vec<String> {
        tokenize(text, &TextOptions { tokenizer, ..TextOptions::default() })
    }

    #[test]
    fn nfkc_should_fold_full_width_forms() {
        assert_eq!(tokens("ＡＢＣ１２３，Hello!", Tokenizer::Words), ["abc123", "hello"]);
    }

    #[test]
    fn chinese_should_split_into_characters_or_bigrams() {
        assert_eq!(tokens("体育：球赛", Tokenizer::Chars), ["体", "育", "球", "赛"]);
        assert_eq!(tokens("体育：球赛", Tokenizer::CharBigrams), ["体育", "育球", "球赛"]);
        assert_eq!(tokens("好", Tokenizer::CharBigrams), ["好"]);
        assert_eq!(tokens("体育：球赛", Tokenizer::CharsAndBigrams), ["体", "育", "球", "赛", "体育", "育球", "球赛"]);
    }

    #[test]
    fn jieba_should_segment_words() {
        // The example of jieba's own documentation.
        assert_eq!(tokens("我来到北京清华大学。", Tokenizer::Jieba), ["我", "来到", "北京", "清华大学"]);
    }

    #[test]
    fn the_vocabulary_should_keep_frequent_tokens_and_pad_and_truncate() {
        let docs: Vec<Vec<String>> =
            [vec!["a", "b", "a"], vec!["c", "a", "b"], vec!["d"]].into_iter().map(|d| d.into_iter().map(String::from).collect()).collect();
        let vocab = Vocab::fit(&docs, 2, None);
        assert_eq!(vocab.tokens, ["<pad>", "<unk>", "a", "b"]);
        assert_eq!(vocab.encode(&docs[1], 4), [UNK, 2, 3, PAD]);
        assert_eq!(vocab.encode(&docs[0], 2), [2, 3]);
        assert_eq!(Vocab::fit(&docs, 1, Some(1)).tokens, ["<pad>", "<unk>", "a"]);
    }
}
