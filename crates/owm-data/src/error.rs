use std::path::PathBuf;

/// Errors raised while reading, splitting or normalising data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    #[error("cannot read `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file's bytes do not follow its format.
    #[error("`{path}` at byte {offset}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Byte offset of the problem (of the decompressed stream for `.gz` files).
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A label is outside `0..num_classes`.
    #[error("`{path}` at byte {offset}: label {label} is out of range (expected 0..{num_classes})")]
    Label {
        /// The file.
        path: PathBuf,
        /// Byte offset of the label.
        offset: u64,
        /// The label read.
        label: u8,
        /// Number of classes of the dataset.
        num_classes: usize,
    },
    /// An in-memory dataset has a label outside its classes.
    #[error("dataset `{dataset}`: item {item} has label {label}, outside 0..{num_classes}")]
    UnknownLabel {
        /// The dataset.
        dataset: String,
        /// Item index.
        item: usize,
        /// The label.
        label: usize,
        /// Number of classes.
        num_classes: usize,
    },
    /// A class selection that cannot be applied.
    #[error("dataset `{dataset}`: {reason}")]
    Classes {
        /// The dataset.
        dataset: String,
        /// What is wrong with the selection.
        reason: String,
    },
    /// Image and label files disagree on the number of items.
    #[error("`{images}` holds {n_images} images but `{labels}` holds {n_labels} labels")]
    CountMismatch {
        /// Image file.
        images: PathBuf,
        /// Label file.
        labels: PathBuf,
        /// Images found.
        n_images: usize,
        /// Labels found.
        n_labels: usize,
    },
    /// None of the files a dataset needs was found.
    #[error("no `{expected}` in `{dir}` (looked for: {tried}): put the dataset's files there, or point the data folder at where they are")]
    Missing {
        /// The folder searched.
        dir: PathBuf,
        /// What was expected.
        expected: String,
        /// The names tried.
        tried: String,
    },
    /// A real dataset that was not fetched onto this machine.
    #[error("dataset `{name}` is not in {}: fetch it with `cargo xtask data {name}`", dir.as_ref().map_or("the datasets folder (no OWM_DATASETS or HOME)".to_string(), |d| format!("`{}`", d.display())))]
    NotFetched {
        /// The dataset.
        name: String,
        /// Where it was looked for.
        dir: Option<PathBuf>,
    },
    /// A feature value is NaN or infinite.
    #[error("dataset `{dataset}`: item {item}, feature {feature} is not finite ({value})")]
    NonFinite {
        /// The dataset.
        dataset: String,
        /// Item index.
        item: usize,
        /// Feature index.
        feature: usize,
        /// The value.
        value: f32,
    },
    /// An image file that cannot be decoded or does not fit with the others.
    #[error("image `{path}`: {reason}")]
    Image {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A token or categorical id outside its vocabulary or field.
    #[error("dataset `{dataset}`: item {item}, position {field}: id {id} is not below {limit}")]
    TokenRange {
        /// The dataset.
        dataset: String,
        /// Item index.
        item: usize,
        /// Token position or field index.
        field: usize,
        /// The id.
        id: u32,
        /// Vocabulary size or field cardinality.
        limit: usize,
    },
    /// Standardising inputs that are ids, not numbers.
    #[error("dataset `{0}` holds token or categorical ids: there is nothing to standardise (set `normalize` to false)")]
    NotNumeric(String),
    /// Feature bounds that do not parse or do not cover the features.
    #[error("feature bounds {0}")]
    Bounds(String),
    /// A dataset or split is empty where data is needed.
    #[error("dataset `{0}` is empty")]
    Empty(String),
    /// `test_fraction` must lie strictly between 0 and 1.
    #[error("test_fraction must lie in (0, 1), got {0}")]
    TestFraction(f64),
    /// `validation_fraction` must lie in [0, 1).
    #[error("validation_fraction must lie in [0, 1) (0 for no validation split), got {0}")]
    ValidationFraction(f64),
    /// A tokenizer that names no piece, an unknown piece or one piece twice.
    #[error("tokenizer `{spec}`: {reason}")]
    Tokenizer {
        /// The tokenizer as written.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Records that a bundle's model cannot be given.
    #[error("cannot predict: {0}")]
    Unpredictable(String),
    /// A limit of zero items was requested.
    #[error("{0} must be at least 1 when set")]
    ZeroLimit(&'static str),
    /// A normaliser does not fit the data it is applied to.
    #[error("normaliser has {expected} features but the data has {found}")]
    FeatureCount {
        /// Features of the normaliser.
        expected: usize,
        /// Features of the data.
        found: usize,
    },
    /// A CSV file cannot be read or is not CSV.
    #[error("`{path}`: {reason}")]
    Table {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A CSV row does not fit the header, or a value does not fit its column.
    #[error("`{path}` line {line}: {reason}")]
    TableRow {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// A column named in the options is not in the CSV header.
    #[error("`{path}`: no column `{column}` (columns: {columns})")]
    TableColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The header.
        columns: String,
    },
    /// No CSV row is left after cleaning.
    #[error("`{0}`: no rows left after cleaning")]
    TableEmpty(PathBuf),
    /// A file that would not fit in the memory budget.
    #[error("`{path}`: {source}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// [`owm_core::Error::TooLarge`] or a bad `OWM_MAX_MEMORY`.
        source: owm_core::Error,
    },
}

/// `Result` with the data [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn read_file(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}
