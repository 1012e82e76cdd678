//! Turns a QuickJS exception into text: `file:line:column: Name: message` for
//! build-time errors (what an editor can jump to), and `message` followed by
//! the JS stack for a plugin error, so a runner comparing message prefixes sees
//! exactly what the plugin threw.

use rquickjs::{Ctx, Error, Value};

struct Thrown {
    name: Option<String>,
    message: String,
    stack: Option<String>,
}

fn caught(ctx: &Ctx<'_>, err: Error) -> Thrown {
    if !matches!(err, Error::Exception) {
        return Thrown {
            name: None,
            message: err.to_string(),
            stack: None,
        };
    }
    let value: Value = ctx.catch();
    if let Some(exception) = value.as_exception() {
        let name = exception.get::<_, String>("name").ok();
        return Thrown {
            name,
            message: exception.message().unwrap_or_default(),
            stack: exception.stack().filter(|s| !s.trim().is_empty()),
        };
    }
    let message = if value.is_undefined() {
        "an exception was thrown outside this call (async code that was never awaited?)".to_string()
    } else {
        value
            .get::<rquickjs::Coerced<String>>()
            .map(|s| s.0)
            .unwrap_or_else(|_| "a value that cannot be shown was thrown".to_string())
    };
    Thrown {
        name: None,
        message,
        stack: None,
    }
}

/// The first `file:line:column` in a QuickJS stack, for the given file.
fn location(stack: &str, file: &str) -> Option<String> {
    stack.lines().find_map(|line| {
        let at = line.find(file)?;
        let tail = &line[at..];
        let end = tail
            .find(|c: char| c == ')' || c.is_whitespace())
            .unwrap_or(tail.len());
        Some(tail[..end].to_string())
    })
}

pub fn build_error(ctx: &Ctx<'_>, err: Error, file: &str) -> String {
    let thrown = caught(ctx, err);
    let head = match &thrown.name {
        Some(name) => format!("{name}: {}", thrown.message),
        None => thrown.message.clone(),
    };
    let loc = thrown.stack.as_deref().and_then(|s| location(s, file));
    let is_syntax = thrown.name.as_deref() == Some("SyntaxError");
    match (loc, thrown.stack) {
        (Some(loc), _) if is_syntax => format!("{loc}: {head}"),
        (Some(loc), Some(stack)) => format!("{loc}: {head}\n{}", stack.trim_end()),
        (None, Some(stack)) => format!("{file}: {head}\n{}", stack.trim_end()),
        (_, None) => format!("{file}: {head}"),
    }
}

pub fn call_error(ctx: &Ctx<'_>, err: Error) -> String {
    let thrown = caught(ctx, err);
    // A plain Error keeps its message bare; a TypeError and friends say so.
    let head = match thrown.name.as_deref() {
        None | Some("Error") => thrown.message,
        Some(name) => format!("{name}: {}", thrown.message),
    };
    match thrown.stack {
        Some(stack) => format!("{head}\n{}", stack.trim_end()),
        None => head,
    }
}
