
use builtin;
use str;

set edit:completion:arg-completer[gantry] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'gantry'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'gantry'= {
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand plugin 'Run, install and manage sandboxed WebAssembly plugins'
            cand infer 'Run an ONNX model inside the sandbox (tract), on JSON input tensors'
            cand forecast 'Forecast the peak load of a series with the bundled model, or backtest it against baselines'
            cand scale 'Scale deployments, statefulsets, replicasets or any resource with /scale, and watch them to readiness'
            cand profile 'Capture and read pprof profiles: top, diffs, flame graphs, goroutine leak checks'
            cand completions 'Print a shell completion script'
            cand generate-man 'Write the man pages into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gantry;plugin'= {
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand run 'Run a plugin (installed, built-in, or a .wasm file) as a command'
            cand install 'Install a plugin from a .wasm file (with NAME.toml beside it if its manifest is not embedded)'
            cand list 'List installed and built-in plugins'
            cand info 'Show a plugin''s manifest, checksum and effective limits'
            cand remove 'Remove an installed plugin'
            cand new 'Create a Rust plugin project in a new directory NAME'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gantry;plugin;run'= {
            cand --memory-mib 'Linear memory limit in MiB [default: plugins.memory_mib, else 128]'
            cand --timeout 'Wall-clock deadline, e.g. 30s or 2m [default: plugins.timeout, else 10s]'
            cand --grant-read 'Let the plugin read this directory (read-only; seen at its absolute path)'
            cand --env 'Let the plugin read this environment variable'
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;plugin;install'= {
            cand --sha256 'Refuse to install unless the file has this SHA-256 (hex)'
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand -y 'Install without asking'
            cand --yes 'Install without asking'
            cand --replace 'Replace an installed plugin of the same name'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;plugin;list'= {
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;plugin;info'= {
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;plugin;remove'= {
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;plugin;new'= {
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;plugin;help'= {
            cand run 'Run a plugin (installed, built-in, or a .wasm file) as a command'
            cand install 'Install a plugin from a .wasm file (with NAME.toml beside it if its manifest is not embedded)'
            cand list 'List installed and built-in plugins'
            cand info 'Show a plugin''s manifest, checksum and effective limits'
            cand remove 'Remove an installed plugin'
            cand new 'Create a Rust plugin project in a new directory NAME'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gantry;plugin;help;run'= {
        }
        &'gantry;plugin;help;install'= {
        }
        &'gantry;plugin;help;list'= {
        }
        &'gantry;plugin;help;info'= {
        }
        &'gantry;plugin;help;remove'= {
        }
        &'gantry;plugin;help;new'= {
        }
        &'gantry;plugin;help;help'= {
        }
        &'gantry;infer'= {
            cand -i 'Input tensors as JSON: {"NAME":{"shape":[..],"data":[..]}} or nested arrays; - for stdin'
            cand --input 'Input tensors as JSON: {"NAME":{"shape":[..],"data":[..]}} or nested arrays; - for stdin'
            cand --memory-mib 'Linear memory limit in MiB [default: plugins.memory_mib, else 128]'
            cand --timeout 'Wall-clock deadline, e.g. 30s or 2m [default: plugins.timeout, else 10s]'
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;forecast'= {
            cand --metrics 'The series: CSV `timestamp,value` with a header, or JSON ([{"t","v"}], [[t,v]], a Prometheus range query)'
            cand --horizon 'Steps (samples) ahead to forecast the peak over, 1 to 72'
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand --backtest 'Evaluate rolling-origin over the last 20% of the file, against baselines'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;scale'= {
            cand --replicas 'The replica count to set'
            cand -l 'Scale every object of TYPE matching this label selector'
            cand --selector 'Scale every object of TYPE matching this label selector'
            cand -n 'Namespace [default: the context''s, else `default`]'
            cand --namespace 'Namespace [default: the context''s, else `default`]'
            cand --context 'Kubeconfig context to use'
            cand --kubeconfig 'Kubeconfig file [default: $KUBECONFIG (several files merge), else ~/.kube/config, else the in-cluster service account]'
            cand --current-replicas 'Only scale if the current replica count is N'
            cand --resource-version 'Only scale if the object''s resourceVersion is RV (one target only)'
            cand --dry-run 'Show the change instead of making it: `client` sends nothing, `server` has the API server validate and admit it (dryRun=All)'
            cand --timeout 'How long --wait may take (exit code 4 after it)'
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand --all 'Scale every object of TYPE in the namespace'
            cand --wait 'Watch the targets until their rollout is complete'
            cand -y 'Scale to 0 or by more than 50% without asking'
            cand --yes 'Scale to 0 or by more than 50% without asking'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;profile'= {
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand top 'Functions by flat (or cumulative) value, as `go tool pprof -top` shows them'
            cand flamegraph 'Write an SVG flame graph (a differential one with --base)'
            cand collapse 'Print folded stacks (`root;caller;leaf VALUE`), for flame graph tools'
            cand save 'Save a profile from a URL as it was served'
            cand leaks 'Take goroutine profiles over time and report the stacks whose counts keep growing'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gantry;profile;top'= {
            cand --sample-index 'Sample type to report, by name or position (default: the profile''s default, else the last)'
            cand --nodecount 'Show at most N functions (0: all above the 0.5% cutoff)'
            cand --base 'Subtract this base profile, as `go tool pprof -diff_base`'
            cand --type 'Which profile a service address resolves to'
            cand --seconds 'Capture length in seconds (CPU: default 30; other types: a delta profile)'
            cand --header 'Extra request header for protected endpoints (repeatable)'
            cand --token 'Bearer token for protected endpoints'
            cand --cacert 'Trust the CA certificates in this PEM file instead of the built-in roots'
            cand --timeout 'How long the server may take beyond the capture to connect, answer and send'
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand --cum 'Sort by cumulative value'
            cand --insecure 'Do not verify the server''s TLS certificate'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;profile;flamegraph'= {
            cand -O 'The SVG file to write'
            cand --output-file 'The SVG file to write'
            cand --base 'Draw a differential flame graph against this base profile'
            cand --sample-index 'Sample type to draw, by name or position'
            cand --type 'Which profile a service address resolves to'
            cand --seconds 'Capture length in seconds (CPU: default 30; other types: a delta profile)'
            cand --header 'Extra request header for protected endpoints (repeatable)'
            cand --token 'Bearer token for protected endpoints'
            cand --cacert 'Trust the CA certificates in this PEM file instead of the built-in roots'
            cand --timeout 'How long the server may take beyond the capture to connect, answer and send'
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand --insecure 'Do not verify the server''s TLS certificate'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;profile;collapse'= {
            cand --sample-index 'Sample type to fold, by name or position'
            cand --type 'Which profile a service address resolves to'
            cand --seconds 'Capture length in seconds (CPU: default 30; other types: a delta profile)'
            cand --header 'Extra request header for protected endpoints (repeatable)'
            cand --token 'Bearer token for protected endpoints'
            cand --cacert 'Trust the CA certificates in this PEM file instead of the built-in roots'
            cand --timeout 'How long the server may take beyond the capture to connect, answer and send'
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand --insecure 'Do not verify the server''s TLS certificate'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;profile;save'= {
            cand -O 'The file to write (gzipped protobuf, as Go serves it)'
            cand --output-file 'The file to write (gzipped protobuf, as Go serves it)'
            cand --type 'Which profile a service address resolves to'
            cand --seconds 'Capture length in seconds (CPU: default 30; other types: a delta profile)'
            cand --header 'Extra request header for protected endpoints (repeatable)'
            cand --token 'Bearer token for protected endpoints'
            cand --cacert 'Trust the CA certificates in this PEM file instead of the built-in roots'
            cand --timeout 'How long the server may take beyond the capture to connect, answer and send'
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand --insecure 'Do not verify the server''s TLS certificate'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;profile;leaks'= {
            cand --interval 'Time between goroutine profiles'
            cand --samples 'How many goroutine profiles to take (at least 2)'
            cand --header 'Extra request header for protected endpoints (repeatable)'
            cand --token 'Bearer token for protected endpoints'
            cand --cacert 'Trust the CA certificates in this PEM file instead of the built-in roots'
            cand --timeout 'How long the server may take beyond the capture to connect, answer and send'
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand --insecure 'Do not verify the server''s TLS certificate'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;profile;help'= {
            cand top 'Functions by flat (or cumulative) value, as `go tool pprof -top` shows them'
            cand flamegraph 'Write an SVG flame graph (a differential one with --base)'
            cand collapse 'Print folded stacks (`root;caller;leaf VALUE`), for flame graph tools'
            cand save 'Save a profile from a URL as it was served'
            cand leaks 'Take goroutine profiles over time and report the stacks whose counts keep growing'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gantry;profile;help;top'= {
        }
        &'gantry;profile;help;flamegraph'= {
        }
        &'gantry;profile;help;collapse'= {
        }
        &'gantry;profile;help;save'= {
        }
        &'gantry;profile;help;leaks'= {
        }
        &'gantry;profile;help;help'= {
        }
        &'gantry;completions'= {
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;generate-man'= {
            cand --color 'When to use colours (NO_COLOR in the environment means never, unless `always`)'
            cand -o 'Output format: tables for people, JSON with a stable schema for machines'
            cand --output 'Output format: tables for people, JSON with a stable schema for machines'
            cand --config 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]'
            cand -v 'More detail (repeat for more); plugin logs appear from -v on'
            cand --verbose 'More detail (repeat for more); plugin logs appear from -v on'
            cand -q 'Only errors'
            cand --quiet 'Only errors'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'gantry;help'= {
            cand plugin 'Run, install and manage sandboxed WebAssembly plugins'
            cand infer 'Run an ONNX model inside the sandbox (tract), on JSON input tensors'
            cand forecast 'Forecast the peak load of a series with the bundled model, or backtest it against baselines'
            cand scale 'Scale deployments, statefulsets, replicasets or any resource with /scale, and watch them to readiness'
            cand profile 'Capture and read pprof profiles: top, diffs, flame graphs, goroutine leak checks'
            cand completions 'Print a shell completion script'
            cand generate-man 'Write the man pages into a directory'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gantry;help;plugin'= {
            cand run 'Run a plugin (installed, built-in, or a .wasm file) as a command'
            cand install 'Install a plugin from a .wasm file (with NAME.toml beside it if its manifest is not embedded)'
            cand list 'List installed and built-in plugins'
            cand info 'Show a plugin''s manifest, checksum and effective limits'
            cand remove 'Remove an installed plugin'
            cand new 'Create a Rust plugin project in a new directory NAME'
        }
        &'gantry;help;plugin;run'= {
        }
        &'gantry;help;plugin;install'= {
        }
        &'gantry;help;plugin;list'= {
        }
        &'gantry;help;plugin;info'= {
        }
        &'gantry;help;plugin;remove'= {
        }
        &'gantry;help;plugin;new'= {
        }
        &'gantry;help;infer'= {
        }
        &'gantry;help;forecast'= {
        }
        &'gantry;help;scale'= {
        }
        &'gantry;help;profile'= {
            cand top 'Functions by flat (or cumulative) value, as `go tool pprof -top` shows them'
            cand flamegraph 'Write an SVG flame graph (a differential one with --base)'
            cand collapse 'Print folded stacks (`root;caller;leaf VALUE`), for flame graph tools'
            cand save 'Save a profile from a URL as it was served'
            cand leaks 'Take goroutine profiles over time and report the stacks whose counts keep growing'
        }
        &'gantry;help;profile;top'= {
        }
        &'gantry;help;profile;flamegraph'= {
        }
        &'gantry;help;profile;collapse'= {
        }
        &'gantry;help;profile;save'= {
        }
        &'gantry;help;profile;leaks'= {
        }
        &'gantry;help;completions'= {
        }
        &'gantry;help;generate-man'= {
        }
        &'gantry;help;help'= {
        }
    ]
    $completions[$command]
}
