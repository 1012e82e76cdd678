//! An ABI call sequence, decoded from fuzz bytes, with a model of what the
//! Extism kernel specifies about it, written as a WAT module.
//!
//! The module runs the calls in order and outputs a trace: little-endian u64s,
//! the count and then each value the model can predict (lengths, loads of bytes
//! it wrote, input bytes, config and var values, far loads). Values that depend
//! on the allocator's layout (handle values, bytes never written, freed blocks,
//! `memory_bytes`) are still produced by a call but dropped, so the trace is the
//! same on every conforming kernel. The model predicts the trace and the status
//! from docs/kernel-memory.md's measured facts (alloc(0) is 0, a freed handle's
//! length is 0, var_set frees key and value, config_get/var_get free the key,
//! error_set(0) clears the error, a second free does nothing).
//!
//! Never generated, because the result is the allocator's business or a
//! declared difference: accesses past a block's end inside kernel memory,
//! handles made up from numbers, a freed key or value passed to
//! var_set/var_get/config_get (a trap on both), the same block as key and value.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use arbitrary::{Result, Unstructured};

/// The config every program runs with; `config_get` asks for these keys and
/// one that is missing.
pub const CONFIG: &[(&str, &str)] = &[("k0", "v0"), ("greeting", "hello, world")];
const KEYS: &[&str] = &["k0", "greeting", "missing", "v", ""];

const MAX_OPS: usize = 48;
const MAX_SLOTS: usize = 24;
/// Far outside any kernel memory: loads give 0, stores are ignored.
const FAR: u64 = 1 << 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Size {
    Small(u64),
    /// Past what a wasm32 memory can hold.
    Huge(u64),
}

#[derive(Debug, Clone)]
enum Op {
    Alloc(Size),
    Free(usize),
    Length(usize),
    LengthUnsafe(usize),
    StoreU8(usize, u64, u8),
    StoreU64(usize, u64, u64),
    LoadU8(usize, u64),
    LoadU64(usize, u64),
    FarStore(u64, u64),
    FarLoad(u64),
    Fill(usize, u8),
    Text(usize),
    InputLength,
    InputLoadU8(u64),
    InputLoadU64(u64),
    InputViaOffset(u64),
    OutputSet(usize, u64),
    ErrorSet(usize),
    VarSet(usize, Option<usize>),
    VarGet(usize),
    ConfigGet(usize),
    MemoryBytes,
    Return(i32),
}

/// What a slot (a local holding a handle) refers to.
#[derive(Debug, Clone)]
enum Slot {
    /// Handle 0: a missing var or config value.
    Null,
    Block(usize),
}

#[derive(Debug, Clone)]
struct Block {
    /// Each byte, if the program wrote it.
    bytes: Vec<Option<u8>>,
    live: bool,
}

impl Block {
    fn known(&self) -> Option<Vec<u8>> {
        self.bytes.iter().copied().collect()
    }
}

/// What the model expects from the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Output(Vec<u8>),
    /// A plugin error, with the message when the model knows it.
    PluginError(Option<String>),
}

/// A decoded program: the module text, the input, and the model's expectation.
#[derive(Debug, Clone)]
pub struct Program {
    pub wat: String,
    pub input: Vec<u8>,
    pub expect: Expect,
    /// The kinds of calls it makes, e.g. to match a declared divergence.
    pub uses: Vec<&'static str>,
}

struct Model {
    blocks: Vec<Block>,
    slots: Vec<Slot>,
    vars: BTreeMap<String, Vec<Option<u8>>>,
    error: Option<usize>,
    /// Predicted trace values.
    trace: Vec<u64>,
    input: Vec<u8>,
    input_len: u64,
    body: String,
    uses: Vec<&'static str>,
}

impl Model {
    fn emit(&mut self, line: String) {
        self.body.push_str("    ");
        self.body.push_str(&line);
        self.body.push('\n');
    }

    /// Records a value the model predicts: the module keeps it in a local.
    fn observe(&mut self, expr: String, value: u64) {
        let i = self.trace.len();
        self.trace.push(value);
        self.emit(format!("(local.set $o{i} {expr})"));
    }

    fn new_slot(&mut self, slot: Slot) -> usize {
        self.slots.push(slot);
        self.slots.len() - 1
    }

    fn live(&self, s: usize) -> Option<usize> {
        match self.slots[s] {
            Slot::Block(b) if self.blocks[b].live => Some(b),
            _ => None,
        }
    }

    fn alloc_known(&mut self, bytes: Vec<Option<u8>>) -> usize {
        self.blocks.push(Block { bytes, live: true });
        self.new_slot(Slot::Block(self.blocks.len() - 1))
    }

    fn write_text(&mut self, text: &str) -> usize {
        let s = self.slots.len();
        self.emit(format!(
            "(local.set $s{s} (call $alloc (i64.const {})))",
            text.len()
        ));
        for (i, b) in text.bytes().enumerate() {
            self.emit(format!(
                "(call $store_u8 (i64.add (local.get $s{s}) (i64.const {i})) (i32.const {b}))"
            ));
        }
        if text.is_empty() {
            return self.new_slot(Slot::Null);
        }
        self.alloc_known(text.bytes().map(Some).collect())
    }

    fn key(&self, s: usize) -> Option<String> {
        let b = self.live(s)?;
        String::from_utf8(self.blocks[b].known()?).ok()
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Alloc(size) => {
                let s = self.slots.len();
                let n = match size {
                    Size::Small(n) | Size::Huge(n) => n,
                };
                self.emit(format!("(local.set $s{s} (call $alloc (i64.const {n})))"));
                match size {
                    // alloc(0) is 0.
                    Size::Small(0) => {
                        self.new_slot(Slot::Null);
                    }
                    Size::Small(n) => {
                        self.alloc_known(vec![None; n as usize]);
                    }
                    // More than a wasm32 memory holds: 0 (with no memory.max_pages;
                    // under it libextism fails the call, see DIVERGES).
                    Size::Huge(_) => {
                        self.uses.push("huge-alloc");
                        self.new_slot(Slot::Null);
                    }
                }
            }
            Op::Free(s) => {
                // Freeing twice, or 0, does nothing.
                match self.slots[s] {
                    Slot::Block(b) if !self.blocks[b].live => self.uses.push("double-free"),
                    Slot::Block(b) => self.blocks[b].live = false,
                    Slot::Null => {}
                }
                self.emit(format!("(call $free (local.get $s{s}))"));
            }
            Op::Length(s) | Op::LengthUnsafe(s) => {
                let f = if matches!(op, Op::Length(_)) {
                    "length"
                } else {
                    "length_unsafe"
                };
                let call = format!("(call ${f} (local.get $s{s}))");
                // 0 for a freed handle and for 0.
                let n = match self.live(s) {
                    Some(b) => self.blocks[b].bytes.len() as u64,
                    None => 0,
                };
                self.observe(call, n)
            }
            Op::StoreU8(s, off, v) => {
                if let Some(b) = self.live(s) {
                    let len = self.blocks[b].bytes.len() as u64;
                    if len > 0 {
                        let off = off % len;
                        self.blocks[b].bytes[off as usize] = Some(v);
                        self.emit(format!(
                            "(call $store_u8 (i64.add (local.get $s{s}) (i64.const {off})) (i32.const {v}))"
                        ));
                    }
                }
            }
            Op::StoreU64(s, off, v) => {
                if let Some(b) = self.live(s) {
                    let len = self.blocks[b].bytes.len() as u64;
                    if len >= 8 {
                        let off = off % (len - 7);
                        for (i, byte) in v.to_le_bytes().into_iter().enumerate() {
                            self.blocks[b].bytes[off as usize + i] = Some(byte);
                        }
                        self.emit(format!(
                            "(call $store_u64 (i64.add (local.get $s{s}) (i64.const {off})) (i64.const {}))",
                            v as i64
                        ));
                    }
                }
            }
            Op::LoadU8(s, off) | Op::LoadU64(s, off) => {
                let width = if matches!(op, Op::LoadU8(..)) { 1 } else { 8 };
                let Slot::Block(b) = self.slots[s] else {
                    return;
                };
                let len = self.blocks[b].bytes.len() as u64;
                if len < width {
                    return;
                }
                let off = off % (len - width + 1);
                let addr = format!("(i64.add (local.get $s{s}) (i64.const {off}))");
                let call = if width == 1 {
                    format!("(i64.extend_i32_u (call $load_u8 {addr}))")
                } else {
                    format!("(call $load_u64 {addr})")
                };
                let range = &self.blocks[b].bytes[off as usize..(off + width) as usize];
                let known: Option<Vec<u8>> = range.iter().copied().collect();
                match known {
                    Some(bytes) if self.blocks[b].live => {
                        let mut word = [0u8; 8];
                        word[..bytes.len()].copy_from_slice(&bytes);
                        self.observe(call, u64::from_le_bytes(word))
                    }
                    _ => self.emit(format!("(drop {call})")),
                }
            }
            Op::FarStore(off, v) => {
                self.uses.push("far-store");
                self.emit(format!(
                    "(call $store_u64 (i64.const {}) (i64.const {}))",
                    FAR + off,
                    v as i64
                ));
            }
            Op::FarLoad(off) => {
                self.uses.push("far-load");
                self.observe(format!("(call $load_u64 (i64.const {}))", FAR + off), 0);
            }
            Op::Fill(s, seed) => {
                if let Some(b) = self.live(s) {
                    let len = self.blocks[b].bytes.len().min(64);
                    for i in 0..len {
                        let v = seed.wrapping_add((i as u8).wrapping_mul(7));
                        self.blocks[b].bytes[i] = Some(v);
                        self.emit(format!(
                            "(call $store_u8 (i64.add (local.get $s{s}) (i64.const {i})) (i32.const {v}))"
                        ));
                    }
                }
            }
            Op::Text(k) => {
                self.write_text(KEYS[k % KEYS.len()]);
            }
            Op::InputLength => {
                self.uses.push("input");
                let n = self.input_len;
                self.observe("(call $input_length)".into(), n)
            }
            Op::InputLoadU8(off) | Op::InputViaOffset(off) if self.input_len > 0 => {
                self.uses.push("input");
                let off = off % self.input_len;
                let call = if matches!(op, Op::InputLoadU8(_)) {
                    format!("(call $input_load_u8 (i64.const {off}))")
                } else {
                    format!("(call $load_u8 (i64.add (call $input_offset) (i64.const {off})))")
                };
                let v = self.input[off as usize];
                self.observe(format!("(i64.extend_i32_u {call})"), u64::from(v))
            }
            Op::InputLoadU64(off) if self.input_len >= 8 => {
                self.uses.push("input");
                let off = off % (self.input_len - 7);
                let word: [u8; 8] = self.input[off as usize..off as usize + 8]
                    .try_into()
                    .expect("8 bytes");
                self.observe(
                    format!("(call $input_load_u64 (i64.const {off}))"),
                    u64::from_le_bytes(word),
                )
            }
            Op::InputLoadU8(_) | Op::InputViaOffset(_) | Op::InputLoadU64(_) => {}
            Op::OutputSet(s, len) => {
                if let Some(b) = self.live(s) {
                    let n = len % (self.blocks[b].bytes.len() as u64 + 1);
                    self.emit(format!(
                        "(call $output_set (local.get $s{s}) (i64.const {n}))"
                    ));
                }
            }
            Op::ErrorSet(s) => {
                self.uses.push("error_set");
                self.error = match self.slots[s] {
                    // error_set(0) clears the error.
                    Slot::Null => None,
                    Slot::Block(b) => Some(b),
                };
                self.emit(format!("(call $error_set (local.get $s{s}))"));
            }
            Op::VarSet(k, v) => {
                let Some(key) = self.key(k) else { return };
                let value = match v.map(|v| (v, &self.slots[v])) {
                    None | Some((_, Slot::Null)) => None,
                    Some((v, _)) => match self.live(v) {
                        // The same block as key and value: freed twice, its
                        // order of frees is the kernel's own (not generated).
                        Some(b) if Some(b) == self.live(k) => return,
                        Some(b) => Some((v, b)),
                        // A freed value handle traps: not generated.
                        None => return,
                    },
                };
                self.uses.push("var_set");
                // var_set frees its key and its value handles.
                let kb = self.live(k).expect("a key is a live block");
                self.blocks[kb].live = false;
                match value {
                    None => {
                        self.vars.remove(&key);
                        self.emit(format!("(call $var_set (local.get $s{k}) (i64.const 0))"));
                    }
                    Some((v, b)) => {
                        self.vars.insert(key, self.blocks[b].bytes.clone());
                        self.blocks[b].live = false;
                        self.emit(format!(
                            "(call $var_set (local.get $s{k}) (local.get $s{v}))"
                        ));
                    }
                }
            }
            Op::VarGet(k) | Op::ConfigGet(k) => {
                // A key of 0 gives 0; a freed key traps (not generated).
                let key = match self.slots[k] {
                    Slot::Null => None,
                    Slot::Block(_) => match self.key(k) {
                        Some(key) => Some(key),
                        None => return,
                    },
                };
                let var = matches!(op, Op::VarGet(_));
                self.uses.push(if var { "var_get" } else { "config_get" });
                // Both take ownership of the key handle.
                if let Some(b) = self.live(k) {
                    self.blocks[b].live = false;
                }
                let value: Option<Vec<Option<u8>>> = match key {
                    None => None,
                    Some(key) if var => self.vars.get(&key).cloned(),
                    Some(key) => CONFIG
                        .iter()
                        .find(|(name, _)| *name == key)
                        .map(|(_, v)| v.bytes().map(Some).collect()),
                };
                let s = self.slots.len();
                let f = if var { "var_get" } else { "config_get" };
                self.emit(format!("(local.set $s{s} (call ${f} (local.get $s{k})))"));
                match value {
                    Some(bytes) => {
                        self.alloc_known(bytes);
                    }
                    None => {
                        self.new_slot(Slot::Null);
                    }
                }
            }
            Op::MemoryBytes => self.emit("(drop (call $memory_bytes))".into()),
            Op::Return(_) => {}
        }
    }
}

fn slot(u: &mut Unstructured<'_>, n: usize) -> Result<Option<usize>> {
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(u.choose_index(n)?))
}

fn small(u: &mut Unstructured<'_>) -> Result<u64> {
    Ok(match u.int_in_range(0..=9u8)? {
        0 => 0,
        1..=6 => u.int_in_range(1..=40)?,
        7 | 8 => u.int_in_range(41..=300)?,
        _ => u.int_in_range(301..=70_000)?,
    })
}

impl Program {
    /// Decodes fuzz bytes into a program; every byte string gives one.
    pub fn decode(data: &[u8]) -> Program {
        let mut u = Unstructured::new(data);
        let input_len = u.int_in_range(0..=40u8).unwrap_or(0) as usize;
        let input: Vec<u8> = (0..input_len)
            .map(|_| u.arbitrary::<u8>().unwrap_or(0))
            .collect();
        let mut m = Model {
            blocks: Vec::new(),
            slots: Vec::new(),
            vars: BTreeMap::new(),
            error: None,
            trace: Vec::new(),
            input_len: input.len() as u64,
            input: input.clone(),
            body: String::new(),
            uses: Vec::new(),
        };
        let mut code = 0;
        for _ in 0..MAX_OPS {
            if u.is_empty() {
                break;
            }
            let Ok(op) = Self::op(&mut u, m.slots.len()) else {
                break;
            };
            let Some(op) = op else { continue };
            if let Op::Return(c) = op {
                code = c;
                break;
            }
            m.apply(&op);
        }
        Self::finish(m, input, code)
    }

    fn op(u: &mut Unstructured<'_>, slots: usize) -> Result<Option<Op>> {
        let full = slots >= MAX_SLOTS;
        let s = |u: &mut Unstructured<'_>| slot(u, slots);
        Ok(Some(match u.int_in_range(0..=24u8)? {
            0 | 1 if !full => Op::Alloc(Size::Small(small(u)?)),
            2 if !full => match u.int_in_range(0..=7u8)? {
                0 => Op::Alloc(Size::Huge(u.int_in_range((1u64 << 32) + 1..=1u64 << 40)?)),
                _ => Op::Text(u.arbitrary()?),
            },
            3 => match s(u)? {
                Some(s) => Op::Free(s),
                None => return Ok(None),
            },
            4 => match s(u)? {
                Some(s) => Op::Length(s),
                None => return Ok(None),
            },
            5 => match s(u)? {
                Some(s) => Op::LengthUnsafe(s),
                None => return Ok(None),
            },
            6 | 7 => match s(u)? {
                Some(s) => Op::StoreU8(s, u.arbitrary()?, u.arbitrary()?),
                None => return Ok(None),
            },
            8 => match s(u)? {
                Some(s) => Op::StoreU64(s, u.arbitrary()?, u.arbitrary()?),
                None => return Ok(None),
            },
            9 | 10 => match s(u)? {
                Some(s) => Op::LoadU8(s, u.arbitrary()?),
                None => return Ok(None),
            },
            11 => match s(u)? {
                Some(s) => Op::LoadU64(s, u.arbitrary()?),
                None => return Ok(None),
            },
            12 => match u.arbitrary::<bool>()? {
                true => Op::FarStore(u.int_in_range(0..=1 << 20)?, u.arbitrary()?),
                false => Op::FarLoad(u.int_in_range(0..=1 << 20)?),
            },
            13 => match s(u)? {
                Some(s) => Op::Fill(s, u.arbitrary()?),
                None => return Ok(None),
            },
            14 if !full => Op::Text(u.arbitrary()?),
            15 => match u.int_in_range(0..=3u8)? {
                0 => Op::InputLength,
                1 => Op::InputLoadU8(u.arbitrary()?),
                2 => Op::InputLoadU64(u.arbitrary()?),
                _ => Op::InputViaOffset(u.arbitrary()?),
            },
            16 => match s(u)? {
                Some(s) => Op::OutputSet(s, u.arbitrary()?),
                None => return Ok(None),
            },
            17 => Op::MemoryBytes,
            18 => match s(u)? {
                Some(s) => Op::ErrorSet(s),
                None => return Ok(None),
            },
            19 | 20 => match (s(u)?, u.arbitrary::<bool>()?) {
                (Some(k), true) => Op::VarSet(k, s(u)?),
                (Some(k), false) => Op::VarSet(k, None),
                _ => return Ok(None),
            },
            21 if !full => match s(u)? {
                Some(k) => Op::VarGet(k),
                None => return Ok(None),
            },
            22 if !full => match s(u)? {
                Some(k) => Op::ConfigGet(k),
                None => return Ok(None),
            },
            23 => Op::MemoryBytes,
            24 => Op::Return(match u.int_in_range(0..=3u8)? {
                0 => 1,
                1 => -1,
                _ => 0,
            }),
            _ => return Ok(None),
        }))
    }

    fn finish(mut m: Model, input: Vec<u8>, code: i32) -> Program {
        // The trace, as the output: the count of predicted values, then each, as
        // u64s in a block of their own (never empty: output_set(0, 0) is ignored).
        let n = m.trace.len();
        let t = m.slots.len();
        m.emit(format!(
            "(local.set $s{t} (call $alloc (i64.const {})))",
            8 + n * 8
        ));
        m.emit(format!(
            "(call $store_u64 (local.get $s{t}) (i64.const {n}))"
        ));
        for i in 0..n {
            m.emit(format!(
                "(call $store_u64 (i64.add (local.get $s{t}) (i64.const {})) (local.get $o{i}))",
                8 + i * 8
            ));
        }
        m.emit(format!(
            "(call $output_set (local.get $s{t}) (i64.const {}))",
            8 + n * 8
        ));
        m.emit(format!("(i32.const {code})"));

        let mut wat = String::from("(module\n");
        for (name, params, results) in IMPORTS {
            let _ = writeln!(
                wat,
                "  (import \"extism:host/env\" \"{name}\" (func ${name} (param {params}) (result {results})))"
            );
        }
        wat = wat.replace("(param )", "").replace(" (result )", "");
        wat.push_str("  (memory (export \"memory\") 1)\n  (func (export \"run\") (result i32)\n");
        for i in 0..=t {
            let _ = writeln!(wat, "    (local $s{i} i64)");
        }
        for i in 0..n {
            let _ = writeln!(wat, "    (local $o{i} i64)");
        }
        wat.push_str(&m.body);
        wat.push_str("  ))\n");

        let expect = if let Some(b) = m.error {
            let block = &m.blocks[b];
            let message = if block.live {
                // The C API hands the message over as a C string: it ends at a NUL.
                block
                    .known()
                    .filter(|bytes| !bytes.contains(&0))
                    .and_then(|bytes| String::from_utf8(bytes).ok())
            } else {
                None
            };
            Expect::PluginError(message)
        } else if code != 0 {
            Expect::PluginError(None)
        } else {
            let values = std::iter::once(n as u64).chain(m.trace.iter().copied());
            Expect::Output(values.flat_map(u64::to_le_bytes).collect())
        };
        let mut uses = m.uses;
        uses.sort_unstable();
        uses.dedup();
        Program {
            wat,
            input,
            expect,
            uses,
        }
    }
}

/// The imports a program may call: name, params, results.
const IMPORTS: &[(&str, &str, &str)] = &[
    ("alloc", "i64", "i64"),
    ("free", "i64", ""),
    ("length", "i64", "i64"),
    ("length_unsafe", "i64", "i64"),
    ("load_u8", "i64", "i32"),
    ("load_u64", "i64", "i64"),
    ("store_u8", "i64 i32", ""),
    ("store_u64", "i64 i64", ""),
    ("input_length", "", "i64"),
    ("input_load_u8", "i64", "i32"),
    ("input_load_u64", "i64", "i64"),
    ("input_offset", "", "i64"),
    ("output_set", "i64 i64", ""),
    ("error_set", "i64", ""),
    ("config_get", "i64", "i64"),
    ("var_get", "i64", "i64"),
    ("var_set", "i64 i64", ""),
    ("memory_bytes", "", "i64"),
];
