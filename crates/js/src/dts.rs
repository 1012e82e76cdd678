//! Reads a plugin's `index.d.ts` the way extism-js does: the exports are the
//! functions of `declare module "main"`, the imported host functions are the
//! methods of `interface user` inside `declare module "extism:host"`.
//!
//! A tiny tokenizer is enough: these declaration files are flat lists of
//! signatures, and anything else in them is skipped.

use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Exports in declaration order (the engine's export numbering).
    pub exports: Vec<Export>,
    /// User host functions, in declaration order (the dispatcher's numbering).
    pub imports: Vec<HostFunction>,
}

/// A plugin export. Extism exports are `(): I32`; anything else is a plain
/// numeric export (extism-js allows typed parameters and results).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub params: Vec<WasmType>,
    pub result: Option<WasmType>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFunction {
    pub name: String,
    pub params: Vec<WasmType>,
    pub result: Option<WasmType>,
}

/// The extism-js type names a host function signature may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WasmType {
    I32,
    I64,
    F32,
    F64,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
}

struct Token {
    tok: Tok,
    line: usize,
    col: usize,
}

struct Cursor {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
}

impl Cursor {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }
}

fn tokenize(src: &str, file: &str) -> Result<Vec<Token>, Error> {
    let mut cur = Cursor {
        chars: src.chars().collect(),
        i: 0,
        line: 1,
        col: 1,
    };
    let mut out = Vec::new();
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    while let Some(c) = cur.peek(0) {
        let (line, col) = (cur.line, cur.col);
        if c.is_whitespace() {
            cur.bump();
        } else if c == '/' && cur.peek(1) == Some('/') {
            while cur.peek(0).is_some_and(|c| c != '\n') {
                cur.bump();
            }
        } else if c == '/' && cur.peek(1) == Some('*') {
            cur.bump();
            cur.bump();
            while !(cur.peek(0) == Some('*') && cur.peek(1) == Some('/')) {
                if cur.bump().is_none() {
                    return Err(Error::source(format!(
                        "{file}:{line}:{col}: unterminated comment: close it with */"
                    )));
                }
            }
            cur.bump();
            cur.bump();
        } else if c == '"' || c == '\'' || c == '`' {
            cur.bump();
            let mut s = String::new();
            loop {
                match cur.bump() {
                    None => {
                        return Err(Error::source(format!(
                            "{file}:{line}:{col}: unterminated string: close it with {c}"
                        )))
                    }
                    Some(d) if d == c => break,
                    Some(d) => s.push(d),
                }
            }
            out.push(Token {
                tok: Tok::Str(s),
                line,
                col,
            });
        } else if is_ident(c) {
            let mut s = String::new();
            while let Some(d) = cur.peek(0).filter(|&d| is_ident(d)) {
                s.push(d);
                cur.bump();
            }
            out.push(Token {
                tok: Tok::Ident(s),
                line,
                col,
            });
        } else {
            cur.bump();
            out.push(Token {
                tok: Tok::Punct(c),
                line,
                col,
            });
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    file: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }
    fn at(&self) -> String {
        match self.toks.get(self.pos).or(self.toks.last()) {
            Some(t) => format!("{}:{}:{}", self.file, t.line, t.col),
            None => self.file.to_string(),
        }
    }
    fn err(&self, what: &str) -> Error {
        Error::source(format!("{}: {what}", self.at()))
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.peek().cloned();
        self.pos += 1;
        t
    }
    fn eat_punct(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_punct(&mut self, c: char, what: &str) -> Result<(), Error> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            Err(self.err(&format!("expected `{c}` {what}")))
        }
    }
    fn ident(&mut self, what: &str) -> Result<String, Error> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.err(&format!("expected {what}"))),
        }
    }
    /// Skips to the token after the `}` closing the block we are in.
    fn skip_block(&mut self) {
        let mut depth = 1;
        while let Some(t) = self.next() {
            match t {
                Tok::Punct('{') => depth += 1,
                Tok::Punct('}') => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }
}

pub fn parse(src: &str, file: &str) -> Result<Interface, Error> {
    let toks = tokenize(src, file)?;
    let mut p = Parser {
        toks: &toks,
        pos: 0,
        file,
    };
    let mut iface = Interface {
        exports: vec![],
        imports: vec![],
    };
    let mut saw_main = false;
    while let Some(t) = p.next() {
        if t != Tok::Ident("declare".into()) || p.peek() != Some(&Tok::Ident("module".into())) {
            continue;
        }
        p.pos += 1;
        let name = match p.next() {
            Some(Tok::Str(s)) => s,
            _ => continue,
        };
        p.expect_punct('{', &format!("after `declare module \"{name}\"`"))?;
        match name.as_str() {
            "main" => {
                saw_main = true;
                parse_main(&mut p, &mut iface.exports)?
            }
            "extism:host" => parse_host(&mut p, &mut iface.imports)?,
            _ => p.skip_block(),
        }
    }
    if !saw_main {
        return Err(Error::source(format!(
            "{file}: no `declare module \"main\" {{ ... }}`: declare the plugin's exports there, e.g. `export function greet(): I32;`"
        )));
    }
    if iface.exports.is_empty() {
        return Err(Error::source(format!(
            "{file}: `declare module \"main\"` declares no function: add `export function NAME(): I32;`"
        )));
    }
    Ok(iface)
}

fn parse_main(p: &mut Parser<'_>, exports: &mut Vec<Export>) -> Result<(), Error> {
    loop {
        match p.next() {
            None => return Err(p.err("`declare module \"main\"` is not closed: add `}`")),
            Some(Tok::Punct('}')) => return Ok(()),
            Some(Tok::Punct('{')) => p.skip_block(),
            Some(Tok::Ident(kw)) if kw == "function" => {
                let at = p.at();
                let (name, params, result) = signature(p, "export")?;
                if exports.iter().any(|e| e.name == name) {
                    return Err(Error::source(format!(
                        "{at}: export `{name}` is declared twice: remove one"
                    )));
                }
                exports.push(Export {
                    name,
                    params,
                    result,
                });
            }
            Some(_) => {}
        }
    }
}

/// `name(a: T, ...): R` with T and R among I32, I64, F32, F64 and PTR (= I64);
/// a missing or `void` result is `None`.
fn signature(
    p: &mut Parser<'_>,
    what: &str,
) -> Result<(String, Vec<WasmType>, Option<WasmType>), Error> {
    let name = p.ident(&format!("a function name for the {what}"))?;
    p.expect_punct('(', &format!("after {what} `{name}`"))?;
    let mut params = Vec::new();
    while !p.eat_punct(')') {
        let at = p.at();
        let pname = p.ident(&format!("a parameter name in {what} `{name}`"))?;
        p.eat_punct('?');
        p.expect_punct(
            ':',
            &format!("and a type after parameter `{pname}` of `{name}`"),
        )?;
        let ty = p.ident(&format!(
            "a type (I32, I64, F32, F64 or PTR) for parameter `{pname}` of `{name}`"
        ))?;
        params.push(wasm_type(&ty, &at, what, &name)?);
        p.eat_punct(',');
    }
    let result = if p.eat_punct(':') {
        let at = p.at();
        let ty = p.ident(&format!("a return type for {what} `{name}`"))?;
        if ty == "void" {
            None
        } else {
            Some(wasm_type(&ty, &at, what, &name)?)
        }
    } else {
        None
    };
    p.eat_punct(';');
    Ok((name, params, result))
}

fn parse_host(p: &mut Parser<'_>, imports: &mut Vec<HostFunction>) -> Result<(), Error> {
    loop {
        match p.next() {
            None => return Err(p.err("`declare module \"extism:host\"` is not closed: add `}`")),
            Some(Tok::Punct('}')) => return Ok(()),
            Some(Tok::Ident(kw)) if kw == "interface" => {
                let name = p.ident("an interface name")?;
                p.expect_punct('{', &format!("after `interface {name}`"))?;
                if name == "user" {
                    parse_user(p, imports)?;
                } else {
                    p.skip_block();
                }
            }
            Some(Tok::Punct('{')) => p.skip_block(),
            Some(_) => {}
        }
    }
}

fn parse_user(p: &mut Parser<'_>, imports: &mut Vec<HostFunction>) -> Result<(), Error> {
    loop {
        if p.eat_punct('}') {
            return Ok(());
        }
        if p.peek().is_none() {
            return Err(p.err("`interface user` is not closed: add `}`"));
        }
        if p.eat_punct(';') || p.eat_punct(',') {
            continue;
        }
        let at = p.at();
        let (name, params, result) = signature(p, "host function")?;
        if let Some(float) = params
            .iter()
            .chain(&result)
            .find(|t| matches!(t, WasmType::F32 | WasmType::F64))
        {
            return Err(Error::source(format!(
                "{at}: host function `{name}` uses {float:?}: polyplug-js passes host function values as I32, I64 or PTR"
            )));
        }
        if params.len() > 5 {
            return Err(Error::source(format!(
                "{at}: host function `{name}` takes {} parameters: polyplug-js supports at most 5",
                params.len()
            )));
        }
        if imports.iter().any(|f| f.name == name) {
            return Err(Error::source(format!(
                "{at}: host function `{name}` is declared twice: remove one"
            )));
        }
        imports.push(HostFunction {
            name,
            params,
            result,
        });
    }
}

fn wasm_type(ty: &str, at: &str, what: &str, func: &str) -> Result<WasmType, Error> {
    match ty {
        "I32" | "i32" => Ok(WasmType::I32),
        "I64" | "i64" | "PTR" => Ok(WasmType::I64),
        "F32" | "f32" => Ok(WasmType::F32),
        "F64" | "f64" => Ok(WasmType::F64),
        other => Err(Error::source(format!(
            "{at}: {what} `{func}` uses type `{other}`: polyplug-js supports I32, I64, F32, F64 and PTR"
        ))),
    }
}
