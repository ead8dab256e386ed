//! The reader: one run over an extract, with what it has learnt so far (organisations, medicines,
//! rejected patients) so that later records resolve against earlier ones.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use concord_codelists::Catalogue;
use concord_domain::CodedConcept;

use crate::files::{Format, detect_format};
use crate::map::Index;
use crate::{Item, Location, ReadOptions, ReadSummary, Rejection, Sink, SourceKey};

/// Reads files into a [`Sink`]. Keep one reader for a whole extract: records in later files
/// resolve against organisations, medicines and rejected patients of earlier ones.
pub struct Reader<'c> {
    pub(crate) catalogue: &'c Catalogue,
    pub(crate) options: ReadOptions,
    pub(crate) index: Index,
    summary: ReadSummary,
}

/// Bytes between progress reports while streaming a file.
pub(crate) const PROGRESS_STEP: u64 = 1 << 20;

impl<'c> Reader<'c> {
    pub fn new(catalogue: &'c Catalogue, options: ReadOptions) -> Self {
        Self { catalogue, options, index: Index::default(), summary: ReadSummary::default() }
    }

    /// Totals so far.
    pub fn summary(&self) -> ReadSummary {
        self.summary
    }

    /// Reads one file in whatever format it is. Problems become rejections located in the file.
    pub fn read_file(&mut self, path: &Path, sink: &mut impl Sink) {
        self.with_output(sink, |reader, out| reader.read_file_into(path, out));
    }

    /// Reads FHIR JSON text (a Bundle or one resource), as if from `file`.
    pub fn read_json(&mut self, text: &str, file: &Path, sink: &mut impl Sink) {
        self.with_output(sink, |reader, out| reader.read_json_text(text, file, out));
    }

    /// Reads FHIR Bulk Data NDJSON, one resource per line, as if from `file`.
    pub fn read_ndjson(&mut self, input: impl BufRead, file: &Path, sink: &mut impl Sink) {
        self.with_output(sink, |reader, out| reader.read_ndjson_lines(input, file, out));
    }

    /// Reads a Concord CSV file (`docs/import-csv.md`), as if from `file`.
    pub fn read_csv(&mut self, input: impl Read, file: &Path, sink: &mut impl Sink) {
        self.with_output(sink, |reader, out| reader.read_csv_rows(input, file, out));
    }

    fn with_output(&mut self, sink: &mut dyn Sink, read: impl FnOnce(&mut Self, &mut Output<'_>)) {
        let mut summary = self.summary;
        let mut out = Output { sink, summary: &mut summary };
        read(self, &mut out);
        self.summary = summary;
    }

    fn read_file_into(&mut self, path: &Path, out: &mut Output<'_>) {
        out.summary.files += 1;
        let start = out.summary.bytes;
        let file = match File::open(path) {
            Ok(file) => file,
            Err(error) => return out.reject_file(path, format!("cannot be read: {error}")),
        };
        let size = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
        let mut input = BufReader::with_capacity(1 << 20, file);
        let format = match input.fill_buf() {
            Ok(head) => detect_format(path, head),
            Err(error) => return out.reject_file(path, format!("cannot be read: {error}")),
        };
        match format {
            None => {
                out.reject_file(path, "is not a recognised extract: expected FHIR JSON, NDJSON or Concord CSV".into())
            }
            Some(Format::Json) => {
                let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                match input.read_to_end(&mut bytes) {
                    Ok(_) => self.read_json_bytes(&bytes, path, out),
                    Err(error) => out.reject_file(path, format!("cannot be read: {error}")),
                }
            }
            Some(Format::Ndjson) => {
                if is_organisation_file(path) {
                    // Organisations refer to each other (partOf): learn every ODS code first.
                    if let Ok(file) = File::open(path) {
                        self.index_organisation_lines(BufReader::with_capacity(1 << 20, file));
                    }
                }
                self.read_ndjson_lines(input, path, out);
            }
            Some(Format::Csv) => self.read_csv_rows(input, path, out),
        }
        out.summary.bytes = start + size;
        out.sink.progress(out.summary.bytes);
    }
}

fn is_organisation_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_ascii_lowercase();
    name.starts_with("organization") || name.starts_with("organisation")
}

/// The caller's sink, with deliveries counted.
pub(crate) struct Output<'a> {
    pub(crate) sink: &'a mut dyn Sink,
    pub(crate) summary: &'a mut ReadSummary,
}

impl Output<'_> {
    pub(crate) fn item(&mut self, location: &Location, item: Item) {
        self.summary.items += 1;
        self.sink.item(location, item);
    }

    pub(crate) fn reject(&mut self, rejection: Rejection) {
        self.summary.rejected += 1;
        self.sink.reject(rejection);
    }

    pub(crate) fn skipped(&mut self, label: &str) {
        self.summary.skipped += 1;
        self.sink.skipped(label);
    }

    /// Progress within a file, `consumed` bytes into it.
    pub(crate) fn progress_within(&mut self, consumed: u64) {
        self.sink.progress(self.summary.bytes + consumed);
    }

    pub(crate) fn reject_file(&mut self, file: &Path, reason: String) {
        self.reject(Rejection {
            location: Location::file(file),
            resource_type: None,
            source_key: None,
            reason,
            red_flag_concept: None,
        });
    }

    pub(crate) fn refuse(
        &mut self,
        location: &Location,
        resource_type: Option<&str>,
        source_key: Option<&SourceKey>,
        reason: String,
        red_flag_concept: Option<CodedConcept>,
    ) {
        self.reject(Rejection {
            location: location.clone(),
            resource_type: resource_type.map(str::to_owned),
            source_key: source_key.cloned(),
            reason,
            red_flag_concept,
        });
    }
}
