//! User host functions: Rust closures a plugin imports, by default from
//! `extism:host/user`, that exchange kernel memory handles with the guest.

use std::sync::Arc;

use wasmtime::{FuncType, Linker, Val, ValType};

use crate::current_plugin::CurrentPlugin;
use crate::error::{Error, ErrorKind};

pub(crate) const USER: &str = "extism:host/user";

type HostFn = dyn Fn(&mut CurrentPlugin, &[Val], &mut [Val]) -> anyhow::Result<()> + Send + Sync;

/// A host function the plugin may import.
#[derive(Clone)]
pub struct HostFunction {
    pub(crate) namespace: String,
    pub(crate) name: String,
    params: Vec<ValType>,
    results: Vec<ValType>,
    f: Arc<HostFn>,
}

impl std::fmt::Debug for HostFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostFunction({}.{})", self.namespace, self.name)
    }
}

impl HostFunction {
    /// A function with these wasm types. Kernel memory handles are `ValType::I64`.
    ///
    /// An error returned by `f` becomes a trap; when the error (or one of its
    /// sources) is a [`crate::Error`], the call fails with that error's kind.
    pub fn new<F>(
        name: &str,
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
        f: F,
    ) -> HostFunction
    where
        F: Fn(&mut CurrentPlugin, &[Val], &mut [Val]) -> anyhow::Result<()> + Send + Sync + 'static,
    {
        HostFunction {
            namespace: USER.to_string(),
            name: name.to_string(),
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
            f: Arc::new(f),
        }
    }

    pub fn with_namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = ns.into();
        self
    }

    pub(crate) fn define(&self, linker: &mut Linker<CurrentPlugin>) -> Result<(), Error> {
        let ty = FuncType::new(linker.engine(), self.params.clone(), self.results.clone());
        let f = self.f.clone();
        let label = format!("{}.{}", self.namespace, self.name);
        let inner_label = label.clone();
        linker
            .func_new(
                &self.namespace,
                &self.name,
                ty,
                move |mut caller, params, results| {
                    let plugin = caller.data_mut();
                    match f(plugin, params, results) {
                        Ok(()) => Ok(()),
                        Err(e) => Err(plugin.fail(typed(&inner_label, e))),
                    }
                },
            )
            .map(|_| ())
            .map_err(|e| {
                Error::new(
                    ErrorKind::InvalidManifest,
                    format!("cannot define host function {label}: {e:#}"),
                )
            })
    }
}

/// The host function's error as a typed [`Error`]: its own kind when it carries
/// one, a trap naming the function otherwise.
fn typed(label: &str, e: anyhow::Error) -> Error {
    if let Some(inner) = e.chain().find_map(|c| c.downcast_ref::<Error>()) {
        return inner.clone();
    }
    Error::new(
        ErrorKind::Trap,
        format!("host function {label} failed: {e:#}"),
    )
}
