//! Hook calls: gantry runs the plugin as `NAME --gantry-hook HOOK`, writes one request
//! `{"api":1,"hook":HOOK,"input":{...}}` to its stdin and reads exactly one response,
//! `{"output":...}` or `{"error":{"message":...}}`, from its stdout.

use std::fmt;
use std::io::{Read, Write};
use std::process::ExitCode;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::API_VERSION;

/// The argument that marks a hook call: `argv = [NAME, "--gantry-hook", HOOK]`.
pub const HOOK_FLAG: &str = "--gantry-hook";

/// The hook gantry called this process for, or `None` for a command call.
///
/// Plugins that provide both a command and hooks branch on this; plugins that only
/// serve hooks call [`serve_hooks`] directly.
pub fn hook_call() -> Option<String> {
    hook_from_args(std::env::args_os().map(|arg| arg.to_string_lossy().into_owned()))
}

fn hook_from_args(args: impl IntoIterator<Item = String>) -> Option<String> {
    let mut args = args.into_iter().skip(1);
    match (args.next(), args.next()) {
        (Some(flag), Some(hook)) if flag == HOOK_FLAG => Some(hook),
        _ => None,
    }
}

/// Answers the hook call this process was started for, and returns the exit code for
/// `main`: 0 after an `output` response, 1 after an `error` response, 2 when the process
/// was not started as a hook call (someone ran the plugin as a command).
///
/// `handler` gets the hook's name and its input; match on the name and answer with
/// [`Input::handle`], or with [`HookError::unknown_hook`] for hooks the plugin does not
/// serve.
pub fn serve_hooks<F>(handler: F) -> ExitCode
where
    F: FnOnce(&str, Input) -> Result<Output, HookError>,
{
    let Some(hook) = hook_call() else {
        eprintln!(
            "error: this plugin serves gantry hooks and has no command; gantry calls it as \
             `PLUGIN {HOOK_FLAG} HOOK` with a JSON request on stdin"
        );
        return ExitCode::from(2);
    };
    serve(
        &hook,
        std::io::stdin().lock(),
        std::io::stdout().lock(),
        handler,
    )
}

/// [`serve_hooks`] with the hook name, stdin and stdout given explicitly: what it does
/// after reading the arguments. Useful to test a plugin's handler end to end on the host.
pub fn serve<R, W, F>(hook: &str, stdin: R, mut stdout: W, handler: F) -> ExitCode
where
    R: Read,
    W: Write,
    F: FnOnce(&str, Input) -> Result<Output, HookError>,
{
    let result = read_request(hook, stdin).and_then(|input| handler(hook, input));
    let (response, code) = match result {
        Ok(Output(output)) => (Response::Output { output }, 0),
        Err(error) => {
            eprintln!("error: {error}");
            (Response::Error { error }, 1)
        }
    };
    match write_json_line(&mut stdout, &response) {
        Ok(()) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: writing the hook response to stdout: {err}");
            ExitCode::from(1)
        }
    }
}

/// Writes `value` to stdout as one line of JSON: what a command plugin that answers in
/// JSON does last. The exit code is failure, with a message on stderr, when stdout
/// cannot take it.
pub fn print_json_line<T: Serialize + ?Sized>(value: &T) -> ExitCode {
    match write_json_line(std::io::stdout().lock(), value) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: writing the output to stdout: {err}");
            ExitCode::FAILURE
        }
    }
}

fn write_json_line<T: Serialize + ?Sized>(mut out: impl Write, value: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()
}

#[derive(Deserialize)]
struct Request {
    api: u32,
    hook: String,
    input: serde_json::Value,
}

fn read_request(hook: &str, mut stdin: impl Read) -> Result<Input, HookError> {
    let mut text = Vec::new();
    stdin
        .read_to_end(&mut text)
        .map_err(|err| HookError::new(format!("reading the hook request from stdin: {err}")))?;
    let request: Request = serde_json::from_slice(&text).map_err(|err| {
        HookError::new(format!(
            "the hook request on stdin is not {{\"api\":1,\"hook\":...,\"input\":...}}: {err}"
        ))
    })?;
    if request.api != API_VERSION {
        return Err(HookError::new(format!(
            "gantry sent a hook request for plugin API {}, and this plugin speaks API \
             {API_VERSION}; use a plugin built for this gantry",
            request.api
        )));
    }
    if request.hook != hook {
        return Err(HookError::new(format!(
            "the request on stdin is for hook `{}` but the arguments name hook `{hook}`",
            request.hook
        )));
    }
    Ok(Input(request.input))
}

#[derive(Serialize)]
#[serde(untagged)]
enum Response {
    Output { output: serde_json::Value },
    Error { error: HookError },
}

/// The `input` of a hook request, still untyped.
#[derive(Debug, Clone, PartialEq)]
pub struct Input(serde_json::Value);

impl Input {
    /// Wraps a JSON value, as a test would build a request.
    pub fn new(value: serde_json::Value) -> Input {
        Input(value)
    }

    /// Deserializes the input into the hook's input type.
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, HookError> {
        serde_json::from_value(self.0)
            .map_err(|err| HookError::new(format!("invalid hook input: {err}")))
    }

    /// Parses the input as `I`, calls `f` and serializes what it returns: one hook's
    /// whole answer in one call.
    pub fn handle<I, O, F>(self, f: F) -> Result<Output, HookError>
    where
        I: DeserializeOwned,
        O: Serialize,
        F: FnOnce(I) -> Result<O, HookError>,
    {
        Output::new(&f(self.parse()?)?)
    }

    /// The raw JSON value.
    pub fn into_value(self) -> serde_json::Value {
        self.0
    }
}

/// The `output` of a hook response.
#[derive(Debug, Clone, PartialEq)]
pub struct Output(serde_json::Value);

impl Output {
    /// Serializes a hook's output. Note that JSON cannot carry NaN or infinite floats
    /// (serde_json writes them as `null`): check your numbers before answering.
    pub fn new<T: Serialize>(output: &T) -> Result<Output, HookError> {
        serde_json::to_value(output)
            .map(Output)
            .map_err(|err| HookError::new(format!("serializing the hook output: {err}")))
    }

    /// The JSON value gantry will receive.
    pub fn as_value(&self) -> &serde_json::Value {
        &self.0
    }
}

/// A hook's answer when it cannot produce an output: sent to gantry as
/// `{"error":{"message":...}}`, which gantry shows to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookError {
    message: String,
}

impl HookError {
    /// An error with a message for the user; say what was wrong and what to do.
    pub fn new(message: impl Into<String>) -> HookError {
        HookError {
            message: message.into(),
        }
    }

    /// The answer for a hook this plugin does not serve.
    pub fn unknown_hook(hook: &str) -> HookError {
        HookError::new(format!(
            "this plugin does not serve hook `{hook}`; list it under [provides] hooks only \
             if the plugin handles it"
        ))
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HookError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn call(
        hook: &str,
        stdin: &str,
        handler: impl FnOnce(&str, Input) -> Result<Output, HookError>,
    ) -> (ExitCode, Value, usize) {
        let mut out = Vec::new();
        let code = serve(hook, stdin.as_bytes(), &mut out, handler);
        let text = String::from_utf8(out).unwrap();
        let documents = text.lines().count();
        (code, serde_json::from_str(&text).unwrap(), documents)
    }

    #[derive(Deserialize)]
    struct Add {
        a: i64,
        b: i64,
    }

    fn add(hook: &str, input: Input) -> Result<Output, HookError> {
        match hook {
            "math.add" => input.handle(|req: Add| {
                req.a
                    .checked_add(req.b)
                    .map(|sum| json!({ "sum": sum }))
                    .ok_or_else(|| HookError::new("the sum overflows"))
            }),
            other => Err(HookError::unknown_hook(other)),
        }
    }

    #[test]
    fn detects_a_hook_call_from_argv() {
        assert_eq!(
            hook_from_args(args(&["p", "--gantry-hook", "scale.forecast"])),
            Some("scale.forecast".to_string())
        );
        assert_eq!(hook_from_args(args(&["p", "world"])), None);
        assert_eq!(hook_from_args(args(&["p", "--gantry-hook"])), None);
        assert_eq!(hook_from_args(args(&["p"])), None);
    }

    #[test]
    fn answers_with_one_output_document() {
        let (code, doc, documents) = call(
            "math.add",
            r#"{"api":1,"hook":"math.add","input":{"a":2,"b":40}}"#,
            add,
        );
        assert_eq!(code, ExitCode::from(0));
        assert_eq!(doc, json!({ "output": { "sum": 42 } }));
        assert_eq!(documents, 1);
    }

    #[test]
    fn handler_errors_become_error_documents() {
        let input = format!(
            r#"{{"api":1,"hook":"math.add","input":{{"a":{},"b":1}}}}"#,
            i64::MAX
        );
        let (code, doc, _) = call("math.add", &input, add);
        assert_eq!(code, ExitCode::from(1));
        assert_eq!(doc, json!({ "error": { "message": "the sum overflows" } }));
    }

    #[test]
    fn unknown_hooks_are_refused() {
        let (code, doc, _) = call("math.mul", r#"{"api":1,"hook":"math.mul","input":{}}"#, add);
        assert_eq!(code, ExitCode::from(1));
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("does not serve hook `math.mul`"),
            "{message}"
        );
    }

    #[test]
    fn bad_requests_are_refused_with_a_reason() {
        let cases = [
            ("not json", "is not {\"api\":1"),
            (r#"{"api":2,"hook":"math.add","input":{}}"#, "plugin API 2"),
            (
                r#"{"api":1,"hook":"math.sub","input":{}}"#,
                "hook `math.sub` but",
            ),
            (
                r#"{"api":1,"hook":"math.add","input":{"a":"x","b":1}}"#,
                "invalid hook input",
            ),
            (r#"{"api":1,"hook":"math.add"}"#, "missing field `input`"),
        ];
        for (stdin, expected) in cases {
            let (code, doc, documents) = call("math.add", stdin, add);
            assert_eq!(code, ExitCode::from(1), "{stdin}");
            assert_eq!(documents, 1, "{stdin}");
            let message = doc["error"]["message"].as_str().unwrap();
            assert!(message.contains(expected), "{stdin}: {message}");
        }
    }

    #[test]
    fn a_closed_stdout_is_reported_not_a_panic() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let stdin = r#"{"api":1,"hook":"math.add","input":{"a":1,"b":1}}"#;
        assert_eq!(
            serve("math.add", stdin.as_bytes(), Closed, add),
            ExitCode::from(1)
        );
    }
}
