//! Text for classification: Unicode normalisation, tokenisation for space-separated languages and for
//! Chinese (characters, character bigrams, or words by jieba), a vocabulary with a minimum frequency and a
//! size cap, padding and truncation, and the `label<TAB>text` file layout (THUCNews style).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::{Error, Result};

/// One kind of token a [`Tokenizer`] emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Piece {
    /// Runs of letters and digits; punctuation is dropped (space-separated languages).
    Words,
    /// Every character that is not whitespace or punctuation (Chinese, Japanese).
    Chars,
    /// Overlapping pairs of such characters; a one-character text gives its character unless the tokenizer
    /// also emits [`Piece::Chars`].
    CharBigrams,
    /// Chinese words segmented by jieba (its embedded dictionary, HMM for unknown words); punctuation and
    /// whitespace are dropped.
    Jieba,
}

impl Piece {
    const ALL: [Self; 4] = [Self::Words, Self::Chars, Self::CharBigrams, Self::Jieba];

    /// The name the command line and configuration files use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Words => "words",
            Self::Chars => "chars",
            Self::CharBigrams => "char-bigrams",
            Self::Jieba => "jieba",
        }
    }
}

/// How text is split into tokens: the tokens of one or more [`Piece`]s, piece after piece, in one bag (as
/// fastText puts words and character n-grams in one bag).
///
/// Written `chars+char-bigrams+jieba` (a piece's name, or several joined by `+`); `chars-and-bigrams` is
/// `chars+char-bigrams`. Where words (`words`, `jieba`) share the bag with characters or pairs, each word is
/// written `w:WORD`, so that a one-character word and that character (or a two-character word and that
/// pair) stay two tokens: on THUCNews, keeping them apart gave a macro F1 0.0037 higher (PyTorch, one
/// split).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tokenizer {
    pieces: Vec<Piece>,
}

impl Tokenizer {
    /// The tokenizer emitting `pieces`, in that order.
    ///
    /// # Errors
    ///
    /// [`Error::Tokenizer`] for no piece or a piece named twice.
    pub fn new(pieces: Vec<Piece>) -> Result<Self> {
        let err = |reason: String| Error::Tokenizer { spec: Self { pieces: pieces.clone() }.to_string(), reason };
        if pieces.is_empty() {
            return Err(err("no piece: name at least one".into()));
        }
        if let Some(p) = pieces.iter().enumerate().find_map(|(i, p)| pieces[..i].contains(p).then_some(p)) {
            return Err(err(format!("piece `{}` named twice", p.name())));
        }
        Ok(Self { pieces })
    }

    /// Its pieces, in the order their tokens come.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Whether its words are marked `w:` to keep them apart from characters and pairs.
    fn marks_words(&self) -> bool {
        let words = |p: &Piece| matches!(p, Piece::Words | Piece::Jieba);
        self.pieces.iter().any(words) && !self.pieces.iter().all(words)
    }
}

impl From<Piece> for Tokenizer {
    fn from(piece: Piece) -> Self {
        Self { pieces: vec![piece] }
    }
}

impl std::fmt::Display for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.pieces.iter().map(|p| p.name()).collect();
        f.write_str(&names.join("+"))
    }
}

impl std::str::FromStr for Tokenizer {
    type Err = Error;

    /// Parses `chars+char-bigrams+jieba`; `_` may stand for `-`, and `chars-and-bigrams` (the name before
    /// pieces could be combined) is `chars+char-bigrams`.
    fn from_str(spec: &str) -> Result<Self> {
        let s = spec.trim().replace('_', "-");
        let s = if s == "chars-and-bigrams" { "chars+char-bigrams" } else { s.as_str() };
        let piece = |name: &str| {
            Piece::ALL.into_iter().find(|p| p.name() == name.trim()).ok_or_else(|| {
                let known: Vec<&str> = Piece::ALL.iter().map(|p| p.name()).collect();
                Error::Tokenizer { spec: spec.to_string(), reason: format!("unknown piece `{name}` (known: {}, joined by `+`)", known.join(", ")) }
            })
        };
        Self::new(s.split('+').map(piece).collect::<Result<_>>()?)
    }
}

impl Serialize for Tokenizer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Tokenizer {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
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
        Self { tokenizer: Piece::Words.into(), nfkc: true, lowercase: true }
    }
}

fn jieba() -> &'static jieba_rs::Jieba {
    static JIEBA: OnceLock<jieba_rs::Jieba> = OnceLock::new();
    JIEBA.get_or_init(jieba_rs::Jieba::new)
}

fn is_token_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// The mark of a word in a tokenizer that also emits characters or pairs (`:` is never part of those).
pub const WORD_MARK: &str = "w:";

/// The tokens of `text` under `options`.
pub fn tokenize(text: &str, options: &TextOptions) -> Vec<String> {
    let mut text: String = if options.nfkc { text.nfkc().collect() } else { text.to_string() };
    if options.lowercase {
        text = text.to_lowercase();
    }
    let chars = || text.chars().filter(|&c| is_token_char(c));
    let pieces = options.tokenizer.pieces();
    let word = |w: &str| if options.tokenizer.marks_words() { format!("{WORD_MARK}{w}") } else { w.to_string() };
    let mut tokens = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Words => tokens.extend(text.split(|c: char| !is_token_char(c)).filter(|w| !w.is_empty()).map(word)),
            Piece::Chars => tokens.extend(chars().map(String::from)),
            Piece::CharBigrams => {
                let chars: Vec<char> = chars().collect();
                if chars.len() == 1 && !pieces.contains(&Piece::Chars) {
                    tokens.push(chars[0].to_string());
                }
                tokens.extend(chars.windows(2).map(|w| w.iter().collect()));
            }
            Piece::Jieba => tokens.extend(jieba().cut(&text, true).into_iter().filter(|w| w.chars().any(is_token_char)).map(word)),
        }
    }
    tokens
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

    fn tokens(text: &str, tokenizer: &str) -> Vec<String> {
        tokenize(text, &TextOptions { tokenizer: tokenizer.parse().unwrap(), ..TextOptions::default() })
    }

    #[test]
    fn nfkc_should_fold_full_width_forms() {
        assert_eq!(tokens("ＡＢＣ１２３，Hello!", "words"), ["abc123", "hello"]);
    }

    #[test]
    fn chinese_should_split_into_characters_or_bigrams() {
        assert_eq!(tokens("体育：球赛", "chars"), ["体", "育", "球", "赛"]);
        assert_eq!(tokens("体育：球赛", "char-bigrams"), ["体育", "育球", "球赛"]);
        assert_eq!(tokens("好", "char-bigrams"), ["好"]);
        assert_eq!(tokens("体育：球赛", "chars-and-bigrams"), ["体", "育", "球", "赛", "体育", "育球", "球赛"]);
        assert_eq!(tokens("好", "chars+char-bigrams"), ["好"]);
    }

    #[test]
    fn jieba_should_segment_words() {
        // The example of jieba's own documentation.
        assert_eq!(tokens("我来到北京清华大学。", "jieba"), ["我", "来到", "北京", "清华大学"]);
    }

    #[test]
    fn pieces_should_combine_in_the_order_named() {
        assert_eq!(tokens("北京大学", "jieba+chars+char-bigrams"), ["w:北京大学", "北", "京", "大", "学", "北京", "京大", "大学"]);
        assert_eq!(tokens("我在北京", "chars+jieba"), ["我", "在", "北", "京", "w:我", "w:在", "w:北京"]);
        assert_eq!(tokens("Hi there", "words+jieba"), ["hi", "there", "hi", "there"]);
    }

    #[test]
    fn a_tokenizer_should_read_and_write_its_name() {
        for name in ["words", "jieba", "chars+char-bigrams+jieba"] {
            let tokenizer: Tokenizer = name.parse().unwrap();
            assert_eq!(tokenizer.to_string(), name);
            assert_eq!(serde_json::from_str::<Tokenizer>(&serde_json::to_string(&tokenizer).unwrap()).unwrap(), tokenizer);
        }
        // Configuration files written before pieces could be combined.
        assert_eq!(serde_json::from_str::<Tokenizer>("\"chars_and_bigrams\"").unwrap().to_string(), "chars+char-bigrams");
        assert_eq!(serde_json::from_str::<Tokenizer>("\"char_bigrams\"").unwrap().to_string(), "char-bigrams");
    }

    #[test]
    fn a_tokenizer_should_refuse_unknown_repeated_or_no_pieces() {
        assert!("chars+morphemes".parse::<Tokenizer>().unwrap_err().to_string().contains("unknown piece `morphemes`"));
        assert!("chars+chars".parse::<Tokenizer>().unwrap_err().to_string().contains("piece `chars` named twice"));
        assert!(Tokenizer::new(Vec::new()).is_err());
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
