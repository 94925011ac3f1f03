//! Large data segments are written into a plugin's memory by the host instead of being
//! compiled into its code. wasmtime's compiler holds the module's bytes, the object it
//! builds (which embeds every data segment) and its serialized output at once: three
//! copies of the data, 1.2 GiB for a module with 400 MiB of data. With the segments moved
//! out, a run holds two (the module's bytes and the plugin's memory), and the compiled
//! code, like its cache entry, stays small.
//!
//! Only modules for which nothing observable changes are rewritten: one memory, defined
//! in the module (not imported), exported, 32-bit and not shared; every active segment
//! on it at an `i32.const` offset; no start function, so no plugin code runs between
//! instantiation and `_start`, which is when the host has written the data. Each active
//! segment keeps its place with no bytes, so segment indices and the bounds check at
//! instantiation stay as they were; the host writes the data in segment order and
//! fails as instantiation would ([`wasmtime::Trap::MemoryOutOfBounds`]) when one does
//! not fit.

use std::ops::Range;
use std::sync::Arc;

use wasmparser::{DataKind, ExternalKind, Operator, Parser, Payload, TypeRef};

/// Modules with less active data than this are compiled as they are: their copies cost
/// little, and wasmtime maps their data into memory lazily.
pub(crate) const HOST_INIT_MIN_BYTES: u64 = 16 << 20;

/// What the host writes into a plugin's memory before `_start`.
#[derive(Debug, Clone)]
pub(crate) struct HostData {
    /// The original module, which the segments' bytes are ranges of.
    bytes: Arc<Vec<u8>>,
    memory_export: String,
    /// Each active segment's offset in memory and its bytes' range in `bytes`, in
    /// segment order.
    segments: Vec<(u32, Range<usize>)>,
}

/// The module to compile and the data the host writes, when `bytes` qualifies (see the
/// module comment) and holds at least [`HOST_INIT_MIN_BYTES`] of active data. `None`
/// leaves the module as it is, including when it does not parse: compiling it then
/// reports what is wrong.
pub(crate) fn split(bytes: &Arc<Vec<u8>>, min_bytes: u64) -> Option<(Vec<u8>, HostData)> {
    let mut memories = 0;
    let mut memory_export = None;
    let mut segments = Vec::new();
    let mut passive = Vec::new();
    let mut active_bytes = 0u64;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.ok()? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if matches!(import.ok()?.ty, TypeRef::Memory(_)) {
                        return None;
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.ok()?;
                    if memory.memory64 || memory.shared {
                        return None;
                    }
                    memories += 1;
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.ok()?;
                    if export.kind == ExternalKind::Memory && export.index == 0 {
                        memory_export = Some(export.name.to_string());
                    }
                }
            }
            Payload::StartSection { .. } => return None,
            Payload::DataSection(reader) => {
                for (index, data) in reader.into_iter().enumerate() {
                    let data = data.ok()?;
                    match data.kind {
                        DataKind::Active {
                            memory_index: 0,
                            offset_expr,
                        } => {
                            let mut ops = offset_expr.get_operators_reader();
                            let (Ok(Operator::I32Const { value }), Ok(Operator::End)) =
                                (ops.read(), ops.read())
                            else {
                                return None;
                            };
                            if !ops.eof() {
                                return None;
                            }
                            let start = data.data.as_ptr() as usize - bytes.as_ptr() as usize;
                            segments.push((value as u32, start..start + data.data.len()));
                            active_bytes += data.data.len() as u64;
                        }
                        DataKind::Active { .. } => return None,
                        DataKind::Passive => {
                            let range = usize::try_from(data.range.start).ok()?
                                ..usize::try_from(data.range.end).ok()?;
                            passive.push((index, range));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if memories != 1 || active_bytes < min_bytes {
        return None;
    }
    let memory_export = memory_export?;
    let module = rewrite_data_section(bytes, &segments, &passive)?;
    let data = HostData {
        bytes: Arc::clone(bytes),
        memory_export,
        segments,
    };
    Some((module, data))
}

/// `bytes` with its data section replaced by one in which every active segment (at the
/// offsets of `segments`) is empty and the passive ones (by index, with their whole
/// encoding's range) are as they were.
fn rewrite_data_section(
    bytes: &[u8],
    active: &[(u32, Range<usize>)],
    passive: &[(usize, Range<usize>)],
) -> Option<Vec<u8>> {
    let section = section_range(bytes, DATA_SECTION)?;
    let count = active.len() + passive.len();
    let mut contents = Vec::new();
    leb_u32(&mut contents, u32::try_from(count).ok()?);
    let (mut active, mut passive) = (active.iter(), passive.iter().peekable());
    for index in 0..count {
        if let Some((_, range)) = passive.next_if(|(i, _)| *i == index) {
            contents.extend_from_slice(&bytes[range.clone()]);
        } else {
            let (offset, _) = active.next()?;
            // Flags 0 (active, memory 0), `i32.const offset end`, no bytes.
            contents.extend_from_slice(&[0x00, 0x41]);
            sleb_i32(&mut contents, *offset as i32);
            contents.extend_from_slice(&[0x0b, 0x00]);
        }
    }
    let mut module = Vec::with_capacity(bytes.len() - section.len() + contents.len() + 6);
    module.extend_from_slice(&bytes[..section.start]);
    module.push(DATA_SECTION);
    leb_u32(&mut module, u32::try_from(contents.len()).ok()?);
    module.extend_from_slice(&contents);
    module.extend_from_slice(&bytes[section.end..]);
    Some(module)
}

const DATA_SECTION: u8 = 11;

/// The whole encoding (id, size and contents) of the first section with this id.
fn section_range(bytes: &[u8], id: u8) -> Option<Range<usize>> {
    let mut at = 8;
    while at < bytes.len() {
        let section_id = bytes[at];
        let (size, size_len) = read_leb_u32(bytes.get(at + 1..)?)?;
        let end = (at + 1 + size_len).checked_add(size as usize)?;
        if end > bytes.len() {
            return None;
        }
        if section_id == id {
            return Some(at..end);
        }
        at = end;
    }
    None
}

fn read_leb_u32(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut value = 0u32;
    for (i, &byte) in bytes.iter().take(5).enumerate() {
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn leb_u32(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn sleb_i32(out: &mut Vec<u8>, mut value: i32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

impl HostData {
    /// Writes the segments into the instance's memory, in order.
    pub(crate) fn write<T>(
        &self,
        instance: &wasmtime::Instance,
        store: &mut wasmtime::Store<T>,
    ) -> wasmtime::Result<()> {
        let memory = instance
            .get_memory(&mut *store, &self.memory_export)
            .ok_or_else(|| wasmtime::format_err!("the module's memory export is missing"))?;
        for (offset, range) in &self.segments {
            memory
                .write(&mut *store, *offset as usize, &self.bytes[range.clone()])
                .map_err(|_| wasmtime::Error::new(wasmtime::Trap::MemoryOutOfBounds))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(wat: &str) -> Arc<Vec<u8>> {
        Arc::new(wat::parse_str(wat).unwrap())
    }

    /// Runs `_start` and returns the first `len` bytes of memory, with or without the
    /// host writing the data.
    fn run(bytes: &Arc<Vec<u8>>, host: bool, len: usize) -> Result<Vec<u8>, String> {
        let engine = wasmtime::Engine::default();
        let mut store = wasmtime::Store::new(&engine, ());
        let (module, data) = match split(bytes, if host { 0 } else { u64::MAX }) {
            Some((rewritten, data)) => (rewritten, Some(data)),
            None if host => return Err("not split".into()),
            None => (bytes.to_vec(), None),
        };
        let module = wasmtime::Module::new(&engine, module).map_err(|e| e.to_string())?;
        let instance =
            wasmtime::Instance::new(&mut store, &module, &[]).map_err(|e| format!("{e:?}"))?;
        if let Some(data) = data {
            data.write(&instance, &mut store)
                .map_err(|e| format!("{e:?}"))?;
        }
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .unwrap();
        start.call(&mut store, ()).map_err(|e| format!("{e:?}"))?;
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        Ok(memory.data(&store)[..len].to_vec())
    }

    #[test]
    fn the_host_writes_what_instantiation_would() {
        // Overlapping active segments (the later wins), a passive one that `_start`
        // copies in, and `data.drop` on an active one: all as before the rewrite.
        let bytes = module(
            r#"(module
                (memory (export "memory") 1)
                (data (i32.const 0) "aaaaaaaa")
                (data (i32.const 4) "bbbb")
                (data $p "cc")
                (data (i32.const 20) "dd")
                (func (export "_start")
                  (memory.init $p (i32.const 10) (i32.const 0) (i32.const 2))
                  (data.drop 0)
                  (i32.store8 (i32.const 21) (i32.load8_u (i32.const 0)))))"#,
        );
        let plain = run(&bytes, false, 24).unwrap();
        assert_eq!(&plain[..12], b"aaaabbbb\0\0cc");
        assert_eq!(&plain[20..22], b"da");
        assert_eq!(run(&bytes, true, 24).unwrap(), plain);
        let (rewritten, _) = split(&bytes, 0).unwrap();
        assert!(rewritten.len() < bytes.len());
    }

    #[test]
    fn a_segment_out_of_bounds_fails_as_instantiation_does() {
        let bytes = module(
            r#"(module
                (memory (export "memory") 1)
                (data (i32.const 65534) "xyz")
                (func (export "_start")))"#,
        );
        assert!(run(&bytes, false, 0).unwrap_err().contains("out of bounds"));
        assert!(run(&bytes, true, 0).unwrap_err().contains("out of bounds"));
    }

    #[test]
    fn modules_it_could_change_are_left_alone() {
        let cases = [
            // A start function would run before the host writes the data.
            r#"(module (memory (export "memory") 1) (data (i32.const 0) "a")
                 (func $s) (start $s) (func (export "_start")))"#,
            // Its memory is not exported.
            r#"(module (memory 1) (data (i32.const 0) "a") (func (export "_start")))"#,
            // An imported memory.
            r#"(module (import "env" "memory" (memory 1)) (data (i32.const 0) "a")
                 (func (export "_start")))"#,
            // An offset that is not a constant.
            r#"(module (global $g i32 (i32.const 0)) (memory (export "memory") 1)
                 (data (global.get $g) "a") (func (export "_start")))"#,
            // A 64-bit memory.
            r#"(module (memory (export "memory") i64 1) (data (i64.const 0) "a")
                 (func (export "_start")))"#,
        ];
        for wat in cases {
            assert!(split(&module(wat), 0).is_none(), "{wat}");
        }
        let small = module(
            r#"(module (memory (export "memory") 1) (data (i32.const 0) "a")
                 (func (export "_start")))"#,
        );
        assert!(split(&small, HOST_INIT_MIN_BYTES).is_none());
        assert!(split(&Arc::new(b"\0asm\x01\0\0\0\x0b\x05".to_vec()), 0).is_none());
    }

    #[test]
    fn signed_leb_round_trips() {
        for value in [0, 1, 63, 64, -1, -64, -65, i32::MAX, i32::MIN, 65534] {
            let mut out = Vec::new();
            sleb_i32(&mut out, value);
            let mut reader = wasmparser::BinaryReader::new(&out, 0);
            assert_eq!(reader.read_var_i32().unwrap(), value);
        }
    }
}
