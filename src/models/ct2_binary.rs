//! Reader for CTranslate2's `model.bin` (the binary written by
//! `ctranslate2/specs/model_spec.py`, `ModelSpec._serialize`).
//!
//! Layout (little endian): `u32` binary version; spec name (`u16` length including a NUL,
//! then the bytes) and `u32` spec revision (version >= 2); `u32` variable count; per
//! variable: name, `u8` rank, `rank` x `u32` dims, `u8` dtype id and `u32` byte count
//! (version >= 4; older files store an item size and an element count), the raw data; then
//! (version >= 3) `u32` alias count and (alias, target) name pairs.
//!
//! Opening the file indexes it without reading any payload; every size is checked against
//! the file length before it is trusted. Payloads are read later, a block of rows at a time,
//! and converted to `f32` (int8/int16 weights are divided by their `<name>_scale`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::quantize::{bf16_bits_to_f32, f16_bits_to_f32};

/// Newest `model.bin` layout this reader understands (CTranslate2 4.x writes 6).
pub const MAX_BINARY_VERSION: u32 = 6;
/// Longest dimension list accepted (CTranslate2 weights have at most 4).
const MAX_RANK: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    #[error("could not read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path} is truncated ({context}); copy or extract the model again")]
    Truncated { path: PathBuf, context: String },
    #[error("{path} is not a CTranslate2 model file ({detail})")]
    Malformed { path: PathBuf, detail: String },
    #[error(
        "{path} uses CTranslate2 binary version {version}, newer than the supported {MAX_BINARY_VERSION}; convert it with an older CTranslate2 or update Verbatim"
    )]
    UnsupportedVersion { path: PathBuf, version: u32 },
    #[error("variable '{name}' in {path} has data type {dtype}, which cannot be converted")]
    UnsupportedDtype {
        path: PathBuf,
        name: String,
        dtype: String,
    },
}

/// Element types of CTranslate2 variables (ids from `include/ctranslate2/types.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2Dtype {
    Float32,
    Int8,
    Int16,
    Int32,
    Float16,
    BFloat16,
}

impl Ct2Dtype {
    fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Self::Float32,
            1 => Self::Int8,
            2 => Self::Int16,
            3 => Self::Int32,
            4 => Self::Float16,
            5 => Self::BFloat16,
            _ => return None,
        })
    }

    /// Pre-version-4 files only stored the item size.
    fn from_item_size(size: u8) -> Option<Self> {
        Some(match size {
            4 => Self::Float32,
            2 => Self::Int16,
            1 => Self::Int8,
            _ => return None,
        })
    }

    pub fn item_size_bytes(self) -> u64 {
        match self {
            Self::Int8 => 1,
            Self::Int16 | Self::Float16 | Self::BFloat16 => 2,
            Self::Float32 | Self::Int32 => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Float32 => "float32",
            Self::Int8 => "int8",
            Self::Int16 => "int16",
            Self::Int32 => "int32",
            Self::Float16 => "float16",
            Self::BFloat16 => "bfloat16",
        }
    }
}

/// Where one variable's data lives in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Ct2Variable {
    pub name: String,
    pub shape: Vec<u64>,
    pub dtype: Ct2Dtype,
    pub data_offset: u64,
    pub data_len_bytes: u64,
}

impl Ct2Variable {
    pub fn element_count(&self) -> u64 {
        self.shape.iter().product()
    }

    /// Rows of the variable seen as a matrix: the first dimension (1 for scalars).
    pub fn row_count(&self) -> u64 {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Elements per row: the product of all dimensions but the first.
    pub fn row_len(&self) -> u64 {
        self.shape.iter().skip(1).product()
    }
}

/// An indexed `model.bin`.
#[derive(Debug)]
pub struct Ct2ModelFile {
    path: PathBuf,
    file: File,
    pub binary_version: u32,
    pub spec_name: String,
    pub spec_revision: u32,
    variables: HashMap<String, Ct2Variable>,
    aliases: HashMap<String, String>,
}

/// Reads header fields while tracking the position, so every length can be checked
/// against the bytes that remain.
struct HeaderReader<'a> {
    reader: BufReader<&'a File>,
    position: u64,
    file_len: u64,
    path: &'a Path,
}

impl HeaderReader<'_> {
    fn truncated(&self, context: &str) -> Ct2Error {
        Ct2Error::Truncated {
            path: self.path.to_path_buf(),
            context: context.to_owned(),
        }
    }

    fn malformed(&self, detail: String) -> Ct2Error {
        Ct2Error::Malformed {
            path: self.path.to_path_buf(),
            detail,
        }
    }

    fn remaining(&self) -> u64 {
        self.file_len.saturating_sub(self.position)
    }

    fn bytes<const N: usize>(&mut self, context: &str) -> Result<[u8; N], Ct2Error> {
        if self.remaining() < N as u64 {
            return Err(self.truncated(context));
        }
        let mut buffer = [0u8; N];
        self.reader
            .read_exact(&mut buffer)
            .map_err(|source| match source.kind() {
                io::ErrorKind::UnexpectedEof => self.truncated(context),
                _ => Ct2Error::Io {
                    path: self.path.to_path_buf(),
                    source,
                },
            })?;
        self.position += N as u64;
        Ok(buffer)
    }

    fn u8(&mut self, context: &str) -> Result<u8, Ct2Error> {
        Ok(self.bytes::<1>(context)?[0])
    }

    fn u16(&mut self, context: &str) -> Result<u16, Ct2Error> {
        Ok(u16::from_le_bytes(self.bytes(context)?))
    }

    fn u32(&mut self, context: &str) -> Result<u32, Ct2Error> {
        Ok(u32::from_le_bytes(self.bytes(context)?))
    }

    /// A `u16`-length-prefixed, NUL-terminated UTF-8 string.
    fn string(&mut self, context: &str) -> Result<String, Ct2Error> {
        let len = u64::from(self.u16(context)?);
        if len == 0 {
            return Err(self.malformed(format!("empty string length in {context}")));
        }
        if self.remaining() < len {
            return Err(self.truncated(context));
        }
        // At most 65535 bytes, and checked against the file length above.
        let mut buffer = vec![0u8; len as usize];
        self.reader
            .read_exact(&mut buffer)
            .map_err(|_| self.truncated(context))?;
        self.position += len;
        buffer.pop(); // the NUL terminator
        String::from_utf8(buffer).map_err(|_| self.malformed(format!("{context} is not UTF-8")))
    }

    fn skip(&mut self, len: u64, context: &str) -> Result<(), Ct2Error> {
        if self.remaining() < len {
            return Err(self.truncated(context));
        }
        let offset = i64::try_from(len).map_err(|_| self.truncated(context))?;
        self.reader
            .seek_relative(offset)
            .map_err(|source| Ct2Error::Io {
                path: self.path.to_path_buf(),
                source,
            })?;
        self.position += len;
        Ok(())
    }

    /// One variable's header (name, shape, dtype, data size); its data is skipped unread,
    /// after checking that the size matches the shape.
    fn variable(&mut self, context: &str, binary_version: u32) -> Result<Ct2Variable, Ct2Error> {
        let name = self.string(context)?;
        let context = format!("variable '{name}'");
        let rank = usize::from(self.u8(&context)?);
        if rank > MAX_RANK {
            return Err(self.malformed(format!("{context} has rank {rank}")));
        }
        let mut shape = Vec::with_capacity(rank);
        for _ in 0..rank {
            shape.push(u64::from(self.u32(&context)?));
        }
        let (dtype, data_len_bytes) = if binary_version >= 4 {
            let id = self.u8(&context)?;
            let dtype = Ct2Dtype::from_id(id)
                .ok_or_else(|| self.malformed(format!("{context} has dtype id {id}")))?;
            (dtype, u64::from(self.u32(&context)?))
        } else {
            let item_size = self.u8(&context)?;
            let dtype = Ct2Dtype::from_item_size(item_size)
                .ok_or_else(|| self.malformed(format!("{context} has item size {item_size}")))?;
            let count = u64::from(self.u32(&context)?);
            (dtype, count * u64::from(item_size))
        };
        let expected_len = shape
            .iter()
            .try_fold(dtype.item_size_bytes(), |acc, &dim| acc.checked_mul(dim));
        if expected_len != Some(data_len_bytes) {
            return Err(self.malformed(format!(
                "{context} has {data_len_bytes} bytes of data for shape {shape:?} ({})",
                dtype.name()
            )));
        }
        let data_offset = self.position;
        self.skip(data_len_bytes, &context)?;
        Ok(Ct2Variable {
            name,
            shape,
            dtype,
            data_offset,
            data_len_bytes,
        })
    }
}

impl Ct2ModelFile {
    /// Indexes `path` (no payload is read). Fails on truncation, impossible sizes and
    /// versions newer than [`MAX_BINARY_VERSION`].
    pub fn open(path: &Path) -> Result<Self, Ct2Error> {
        let io_error = |source| Ct2Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        let file_len = file.metadata().map_err(io_error)?.len();

        let mut header = HeaderReader {
            reader: BufReader::with_capacity(64 * 1024, &file),
            position: 0,
            file_len,
            path,
        };

        let binary_version = header.u32("binary version")?;
        if binary_version == 0 {
            return Err(header.malformed("binary version 0".into()));
        }
        if binary_version > MAX_BINARY_VERSION {
            return Err(Ct2Error::UnsupportedVersion {
                path: path.to_path_buf(),
                version: binary_version,
            });
        }
        let (spec_name, spec_revision) = if binary_version >= 2 {
            (header.string("spec name")?, header.u32("spec revision")?)
        } else {
            (String::new(), 1)
        };

        let variable_count = header.u32("variable count")?;
        let mut variables = HashMap::new();
        for index in 0..variable_count {
            let context = format!("variable {index} of {variable_count}");
            let variable = header.variable(&context, binary_version)?;
            variables.insert(variable.name.clone(), variable);
        }

        let mut aliases = HashMap::new();
        if binary_version >= 3 {
            let alias_count = header.u32("alias count")?;
            for _ in 0..alias_count {
                let alias = header.string("alias name")?;
                let target = header.string("alias target")?;
                aliases.insert(alias, target);
            }
        }
        drop(header);

        Ok(Self {
            path: path.to_path_buf(),
            file,
            binary_version,
            spec_name,
            spec_revision,
            variables,
            aliases,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored (non-alias) variables.
    pub fn variables(&self) -> impl Iterator<Item = &Ct2Variable> {
        self.variables.values()
    }

    /// Looks a variable up by name, following aliases.
    pub fn variable(&self, name: &str) -> Option<&Ct2Variable> {
        if let Some(variable) = self.variables.get(name) {
            return Some(variable);
        }
        if let Some(target) = self.aliases.get(name) {
            return self.variables.get(target);
        }
        // "<alias>_scale" -> "<target>_scale"
        let base = name.strip_suffix("_scale")?;
        let target = self.aliases.get(base)?;
        self.variables.get(&format!("{target}_scale"))
    }

    /// The quantization scale stored next to an int8/int16 variable, if any.
    pub fn scale_of(&self, variable: &Ct2Variable) -> Option<&Ct2Variable> {
        self.variable(&format!("{}_scale", variable.name))
    }

    /// Reads a scalar (rank 0, or a single element) as an integer.
    pub fn read_integer_scalar(&mut self, name: &str) -> Result<Option<i64>, Ct2Error> {
        let Some(variable) = self.variable(name).cloned() else {
            return Ok(None);
        };
        if variable.element_count() != 1 {
            return Err(self.malformed(format!("'{name}' should be a scalar")));
        }
        let mut raw = [0u8; 4];
        let len = variable.data_len_bytes as usize; // 1, 2 or 4: one element
        self.read_at(variable.data_offset, &mut raw[..len], name)?;
        Ok(Some(match variable.dtype {
            Ct2Dtype::Int8 => i64::from(raw[0] as i8),
            Ct2Dtype::Int16 => i64::from(i16::from_le_bytes([raw[0], raw[1]])),
            Ct2Dtype::Int32 => i64::from(i32::from_le_bytes(raw)),
            Ct2Dtype::Float32 => f32::from_le_bytes(raw) as i64,
            Ct2Dtype::Float16 => f16_bits_to_f32(u16::from_le_bytes([raw[0], raw[1]])) as i64,
            Ct2Dtype::BFloat16 => bf16_bits_to_f32(u16::from_le_bytes([raw[0], raw[1]])) as i64,
        }))
    }

    /// Reads the whole variable as `f32` (for small vectors such as quantization scales).
    pub fn read_all_f32(&mut self, variable: &Ct2Variable) -> Result<Vec<f32>, Ct2Error> {
        let mut values = Vec::new();
        let rows = variable.row_count();
        self.read_rows_f32(variable, None, 0..rows, &mut values)?;
        Ok(values)
    }

    /// Reads rows `rows` of `variable` (seen as `row_count x row_len`) into `out` as `f32`,
    /// replacing its contents. Integer weights are divided by `scales`: one per row of the
    /// whole variable, or a single one for all (CTranslate2's int8 and int16 schemes).
    pub fn read_rows_f32(
        &mut self,
        variable: &Ct2Variable,
        scales: Option<&[f32]>,
        rows: std::ops::Range<u64>,
        out: &mut Vec<f32>,
    ) -> Result<(), Ct2Error> {
        let row_len = variable.row_len();
        if rows.end > variable.row_count() || rows.start > rows.end {
            return Err(self.malformed(format!(
                "rows {rows:?} requested from '{}' with {} rows",
                variable.name,
                variable.row_count()
            )));
        }
        let item_size = variable.dtype.item_size_bytes();
        let row_bytes = row_len * item_size;
        let start = variable.data_offset + rows.start * row_bytes;
        // Within the variable's data, whose length was checked against the file at open.
        let len = ((rows.end - rows.start) * row_bytes) as usize;
        let mut raw = vec![0u8; len];
        self.read_at(start, &mut raw, &variable.name)?;

        out.clear();
        out.reserve(len / item_size as usize);
        match variable.dtype {
            Ct2Dtype::Float32 => out.extend(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            ),
            Ct2Dtype::Float16 => out.extend(
                raw.chunks_exact(2)
                    .map(|b| f16_bits_to_f32(u16::from_le_bytes([b[0], b[1]]))),
            ),
            Ct2Dtype::BFloat16 => out.extend(
                raw.chunks_exact(2)
                    .map(|b| bf16_bits_to_f32(u16::from_le_bytes([b[0], b[1]]))),
            ),
            Ct2Dtype::Int8 | Ct2Dtype::Int16 => {
                let scales = scales.ok_or_else(|| Ct2Error::UnsupportedDtype {
                    path: self.path.clone(),
                    name: variable.name.clone(),
                    dtype: format!("{} without a scale", variable.dtype.name()),
                })?;
                let per_row = scales.len() as u64 == variable.row_count() && scales.len() > 1;
                if !per_row && scales.len() != 1 {
                    return Err(self.malformed(format!(
                        "'{}' has {} scales for {} rows",
                        variable.name,
                        scales.len(),
                        variable.row_count()
                    )));
                }
                let values: Box<dyn Iterator<Item = f32>> = if variable.dtype == Ct2Dtype::Int8 {
                    Box::new(raw.iter().map(|&b| f32::from(b as i8)))
                } else {
                    Box::new(
                        raw.chunks_exact(2)
                            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]]))),
                    )
                };
                let row_len = row_len.max(1) as usize;
                out.extend(values.enumerate().map(|(index, quantized)| {
                    let row = if per_row {
                        rows.start as usize + index / row_len
                    } else {
                        0
                    };
                    quantized / scales.get(row).copied().unwrap_or(1.0)
                }));
            }
            Ct2Dtype::Int32 => {
                return Err(Ct2Error::UnsupportedDtype {
                    path: self.path.clone(),
                    name: variable.name.clone(),
                    dtype: variable.dtype.name().to_owned(),
                });
            }
        }
        Ok(())
    }

    fn read_at(&mut self, offset: u64, buffer: &mut [u8], name: &str) -> Result<(), Ct2Error> {
        let path = self.path.clone();
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.read_exact(buffer))
            .map_err(|source| match source.kind() {
                io::ErrorKind::UnexpectedEof => Ct2Error::Truncated {
                    path,
                    context: format!("file shrank while reading '{name}'"),
                },
                _ => Ct2Error::Io { path, source },
            })
    }

    fn malformed(&self, detail: String) -> Ct2Error {
        Ct2Error::Malformed {
            path: self.path.clone(),
            detail,
        }
    }
}

#[cfg(test)]
pub(crate) mod test_image {
    /// Builds a `model.bin` image the way `ModelSpec._serialize` writes it.
    pub(crate) struct Ct2Builder {
        bytes: Vec<u8>,
        variable_count: u32,
        variables: Vec<u8>,
        aliases: Vec<(String, String)>,
    }

    pub(crate) fn push_string(out: &mut Vec<u8>, text: &str) {
        out.extend_from_slice(&((text.len() + 1) as u16).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        out.push(0);
    }

    impl Ct2Builder {
        pub(crate) fn new(spec: &str) -> Self {
            let mut bytes = Vec::new();
            bytes.extend_from_slice(&6u32.to_le_bytes());
            push_string(&mut bytes, spec);
            bytes.extend_from_slice(&3u32.to_le_bytes());
            Self {
                bytes,
                variable_count: 0,
                variables: Vec::new(),
                aliases: Vec::new(),
            }
        }

        pub(crate) fn variable(
            mut self,
            name: &str,
            shape: &[u32],
            dtype: u8,
            data: &[u8],
        ) -> Self {
            push_string(&mut self.variables, name);
            self.variables.push(shape.len() as u8);
            for dim in shape {
                self.variables.extend_from_slice(&dim.to_le_bytes());
            }
            self.variables.push(dtype);
            self.variables
                .extend_from_slice(&(data.len() as u32).to_le_bytes());
            self.variables.extend_from_slice(data);
            self.variable_count += 1;
            self
        }

        pub(crate) fn alias(mut self, alias: &str, target: &str) -> Self {
            self.aliases.push((alias.into(), target.into()));
            self
        }

        pub(crate) fn build(mut self) -> Vec<u8> {
            self.bytes
                .extend_from_slice(&self.variable_count.to_le_bytes());
            self.bytes.extend_from_slice(&self.variables);
            self.bytes
                .extend_from_slice(&(self.aliases.len() as u32).to_le_bytes());
            for (alias, target) in &self.aliases {
                push_string(&mut self.bytes, alias);
                push_string(&mut self.bytes, target);
            }
            self.bytes
        }
    }

    pub(crate) fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_image::{Ct2Builder, f32_bytes, push_string};
    use super::*;

    fn open_image(bytes: &[u8]) -> (tempfile::TempDir, Result<Ct2ModelFile, Ct2Error>) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let path = dir.path().join("model.bin");
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write: {e}"));
        let result = Ct2ModelFile::open(&path);
        (dir, result)
    }

    #[test]
    fn indexes_variables_aliases_and_reads_all_dtypes() {
        let image = Ct2Builder::new("WhisperSpec")
            .variable("a/num_heads", &[], 2, &6i16.to_le_bytes())
            .variable("a/w32", &[2, 2], 0, &f32_bytes(&[1.0, -2.0, 3.5, 0.25]))
            .variable("a/w16", &[2], 4, &[0x00, 0x3c, 0x00, 0xc0])
            .variable("a/wbf16", &[1], 5, &[0x80, 0x3f])
            .variable("a/w8", &[2, 2], 1, &[10u8, 246, 127, 0])
            .variable("a/w8_scale", &[2], 0, &f32_bytes(&[10.0, 127.0]))
            .alias("b/w8", "a/w8")
            .build();
        let (_dir, opened) = open_image(&image);
        let mut model = opened.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(model.spec_name, "WhisperSpec");
        assert_eq!((model.binary_version, model.spec_revision), (6, 3));
        assert_eq!(
            model.read_integer_scalar("a/num_heads").ok().flatten(),
            Some(6)
        );

        let mut values = Vec::new();
        let w32 = model.variable("a/w32").cloned();
        let w32 = w32.unwrap_or_else(|| panic!("w32 missing"));
        assert!(model.read_rows_f32(&w32, None, 1..2, &mut values).is_ok());
        assert_eq!(values, vec![3.5, 0.25]);

        let w16 = model
            .variable("a/w16")
            .cloned()
            .unwrap_or_else(|| panic!("w16"));
        assert_eq!(model.read_all_f32(&w16).ok(), Some(vec![1.0, -2.0]));
        let wbf = model
            .variable("a/wbf16")
            .cloned()
            .unwrap_or_else(|| panic!("bf16"));
        assert_eq!(model.read_all_f32(&wbf).ok(), Some(vec![1.0]));

        // int8 through an alias, with the alias's scale resolved to the target's.
        let w8 = model
            .variable("b/w8")
            .cloned()
            .unwrap_or_else(|| panic!("alias"));
        let scale = model
            .variable("b/w8_scale")
            .cloned()
            .unwrap_or_else(|| panic!("scale"));
        let scales = model.read_all_f32(&scale).unwrap_or_default();
        assert!(
            model
                .read_rows_f32(&w8, Some(&scales), 0..2, &mut values)
                .is_ok()
        );
        assert_eq!(values, vec![1.0, -1.0, 1.0, 0.0]);
    }

    #[test]
    fn truncation_anywhere_is_a_clear_error() {
        let image = Ct2Builder::new("WhisperSpec")
            .variable("w", &[4, 4], 0, &f32_bytes(&[0.5; 16]))
            .build();
        for cut in [0, 3, 10, 20, 40, image.len() - 1] {
            let (_dir, result) = open_image(&image[..cut]);
            let message = result.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(message.contains("truncated"), "cut at {cut}: {message}");
        }
    }

    #[test]
    fn huge_header_fields_fail_without_allocating() {
        // A variable claiming 4 GiB of data in a 60-byte file.
        let mut image = Ct2Builder::new("WhisperSpec").build();
        image.truncate(image.len() - 8); // drop the counts
        image.extend_from_slice(&1u32.to_le_bytes());
        push_string(&mut image, "w");
        image.push(2);
        image.extend_from_slice(&65_536u32.to_le_bytes());
        image.extend_from_slice(&16_384u32.to_le_bytes());
        image.push(0);
        image.extend_from_slice(&u32::MAX.to_le_bytes());
        let (_dir, result) = open_image(&image);
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("not a CTranslate2 model file"),
            "{message}"
        );

        // A consistent shape whose data lies past the end of the file.
        let mut image = Ct2Builder::new("WhisperSpec").build();
        image.truncate(image.len() - 8);
        image.extend_from_slice(&1u32.to_le_bytes());
        push_string(&mut image, "w");
        image.push(1);
        image.extend_from_slice(&1_000_000_000u32.to_le_bytes());
        image.push(1);
        image.extend_from_slice(&1_000_000_000u32.to_le_bytes());
        let (_dir, result) = open_image(&image);
        let message = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("truncated"), "{message}");

        // A variable count of four billion with nothing behind it.
        let mut image = Ct2Builder::new("WhisperSpec").build();
        image.truncate(image.len() - 8);
        image.extend_from_slice(&u32::MAX.to_le_bytes());
        let (_dir, result) = open_image(&image);
        assert!(
            result
                .err()
                .is_some_and(|e| e.to_string().contains("truncated"))
        );
    }

    #[test]
    fn rejects_newer_binary_versions() {
        let mut image = Ct2Builder::new("WhisperSpec").build();
        image[..4].copy_from_slice(&7u32.to_le_bytes());
        let (_dir, result) = open_image(&image);
        assert!(
            result
                .err()
                .is_some_and(|e| e.to_string().contains("binary version 7"))
        );
    }
}
