# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_gantry_global_optspecs
    string join \n color= o/output= v/verbose q/quiet config= h/help V/version
end

function __fish_gantry_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_gantry_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_gantry_using_subcommand
    set -l cmd (__fish_gantry_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c gantry -n "__fish_gantry_needs_command" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_needs_command" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_needs_command" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_needs_command" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_needs_command" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_needs_command" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_needs_command" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_needs_command" -f -a "plugin" -d 'Run, install and manage sandboxed WebAssembly plugins'
complete -c gantry -n "__fish_gantry_needs_command" -f -a "infer" -d 'Run an ONNX model inside the sandbox (tract), on JSON input tensors'
complete -c gantry -n "__fish_gantry_needs_command" -f -a "forecast" -d 'Forecast the peak load of a series with the bundled model, or backtest it against baselines'
complete -c gantry -n "__fish_gantry_needs_command" -f -a "scale" -d 'Scale deployments, statefulsets, replicasets or any resource with /scale, and watch them to readiness'
complete -c gantry -n "__fish_gantry_needs_command" -f -a "profile" -d 'Capture and read pprof profiles: top, diffs, flame graphs, goroutine leak checks'
complete -c gantry -n "__fish_gantry_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c gantry -n "__fish_gantry_needs_command" -f -a "generate-man" -d 'Write the man pages into a directory'
complete -c gantry -n "__fish_gantry_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -f -a "run" -d 'Run a plugin (installed, built-in, or a .wasm file) as a command'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -f -a "install" -d 'Install a plugin from a .wasm file (with NAME.toml beside it if its manifest is not embedded)'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -f -a "list" -d 'List installed and built-in plugins'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -f -a "info" -d 'Show a plugin\'s manifest, checksum and effective limits'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -f -a "remove" -d 'Remove an installed plugin'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -f -a "new" -d 'Create a Rust plugin project in a new directory NAME'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and not __fish_seen_subcommand_from run install list info remove new help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from run" -l memory-mib -d 'Linear memory limit in MiB [default: plugins.memory_mib, else 128]' -r
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from run" -l timeout -d 'Wall-clock deadline, e.g. 30s or 2m [default: plugins.timeout, else 10s]' -r
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from run" -l grant-read -d 'Let the plugin read this directory (read-only; seen at its absolute path)' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from run" -l env -d 'Let the plugin read this environment variable' -r
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from run" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from run" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from run" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from run" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from run" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from run" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from install" -l sha256 -d 'Refuse to install unless the file has this SHA-256 (hex)' -r
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from install" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from install" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from install" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from install" -s y -l yes -d 'Install without asking'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from install" -l replace -d 'Replace an installed plugin of the same name'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from install" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from install" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from install" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from list" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from list" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from info" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from info" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from info" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from info" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from info" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from info" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from info" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from remove" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from remove" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from remove" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from new" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from new" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from new" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from new" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from new" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from new" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from new" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "run" -d 'Run a plugin (installed, built-in, or a .wasm file) as a command'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "install" -d 'Install a plugin from a .wasm file (with NAME.toml beside it if its manifest is not embedded)'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "list" -d 'List installed and built-in plugins'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "info" -d 'Show a plugin\'s manifest, checksum and effective limits'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove an installed plugin'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "new" -d 'Create a Rust plugin project in a new directory NAME'
complete -c gantry -n "__fish_gantry_using_subcommand plugin; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gantry -n "__fish_gantry_using_subcommand infer" -s i -l input -d 'Input tensors as JSON: {"NAME":{"shape":[..],"data":[..]}} or nested arrays; - for stdin' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand infer" -l memory-mib -d 'Linear memory limit in MiB [default: plugins.memory_mib, else 128]' -r
complete -c gantry -n "__fish_gantry_using_subcommand infer" -l timeout -d 'Wall-clock deadline, e.g. 30s or 2m [default: plugins.timeout, else 10s]' -r
complete -c gantry -n "__fish_gantry_using_subcommand infer" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand infer" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand infer" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand infer" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand infer" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand infer" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand infer" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand forecast" -l metrics -d 'The series: CSV `timestamp,value` with a header, or JSON ([{"t","v"}], [[t,v]], a Prometheus range query)' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand forecast" -l horizon -d 'Steps (samples) ahead to forecast the peak over, 1 to 72' -r
complete -c gantry -n "__fish_gantry_using_subcommand forecast" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand forecast" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand forecast" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand forecast" -l backtest -d 'Evaluate rolling-origin over the last 20% of the file, against baselines'
complete -c gantry -n "__fish_gantry_using_subcommand forecast" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand forecast" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand forecast" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand forecast" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand scale" -l replicas -d 'The replica count to set' -r
complete -c gantry -n "__fish_gantry_using_subcommand scale" -s l -l selector -d 'Scale every object of TYPE matching this label selector' -r
complete -c gantry -n "__fish_gantry_using_subcommand scale" -s n -l namespace -d 'Namespace [default: the context\'s, else `default`]' -r
complete -c gantry -n "__fish_gantry_using_subcommand scale" -l context -d 'Kubeconfig context to use' -r
complete -c gantry -n "__fish_gantry_using_subcommand scale" -l kubeconfig -d 'Kubeconfig file [default: $KUBECONFIG (several files merge), else ~/.kube/config, else the in-cluster service account]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand scale" -l current-replicas -d 'Only scale if the current replica count is N' -r
complete -c gantry -n "__fish_gantry_using_subcommand scale" -l resource-version -d 'Only scale if the object\'s resourceVersion is RV (one target only)' -r
complete -c gantry -n "__fish_gantry_using_subcommand scale" -l dry-run -d 'Show the change instead of making it: `client` sends nothing, `server` has the API server validate and admit it (dryRun=All)' -r -f -a "none\t''
client\t''
server\t''"
complete -c gantry -n "__fish_gantry_using_subcommand scale" -l timeout -d 'How long --wait may take (exit code 4 after it)' -r
complete -c gantry -n "__fish_gantry_using_subcommand scale" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand scale" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand scale" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand scale" -l all -d 'Scale every object of TYPE in the namespace'
complete -c gantry -n "__fish_gantry_using_subcommand scale" -l wait -d 'Watch the targets until their rollout is complete'
complete -c gantry -n "__fish_gantry_using_subcommand scale" -s y -l yes -d 'Scale to 0 or by more than 50% without asking'
complete -c gantry -n "__fish_gantry_using_subcommand scale" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand scale" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand scale" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand scale" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and not __fish_seen_subcommand_from top flamegraph collapse save leaks help" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and not __fish_seen_subcommand_from top flamegraph collapse save leaks help" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and not __fish_seen_subcommand_from top flamegraph collapse save leaks help" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand profile; and not __fish_seen_subcommand_from top flamegraph collapse save leaks help" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and not __fish_seen_subcommand_from top flamegraph collapse save leaks help" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and not __fish_seen_subcommand_from top flamegraph collapse save leaks help" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and not __fish_seen_subcommand_from top flamegraph collapse save leaks help" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and not __fish_seen_subcommand_from top flamegraph collapse save leaks help" -f -a "top" -d 'Functions by flat (or cumulative) value, as `go tool pprof -top` shows them'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and not __fish_seen_subcommand_from top flamegraph collapse save leaks help" -f -a "flamegraph" -d 'Write an SVG flame graph (a differential one with --base)'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and not __fish_seen_subcommand_from top flamegraph collapse save leaks help" -f -a "collapse" -d 'Print folded stacks (`root;caller;leaf VALUE`), for flame graph tools'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and not __fish_seen_subcommand_from top flamegraph collapse save leaks help" -f -a "save" -d 'Save a profile from a URL as it was served'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and not __fish_seen_subcommand_from top flamegraph collapse save leaks help" -f -a "leaks" -d 'Take goroutine profiles over time and report the stacks whose counts keep growing'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and not __fish_seen_subcommand_from top flamegraph collapse save leaks help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -l sample-index -d 'Sample type to report, by name or position (default: the profile\'s default, else the last)' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -l nodecount -d 'Show at most N functions (0: all above the 0.5% cutoff)' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -l base -d 'Subtract this base profile, as `go tool pprof -diff_base`' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -l type -d 'Which profile a service address resolves to' -r -f -a "cpu\t''
heap\t''
allocs\t''
goroutine\t''
block\t''
mutex\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -l seconds -d 'Capture length in seconds (CPU: default 30; other types: a delta profile)' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -l header -d 'Extra request header for protected endpoints (repeatable)' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -l token -d 'Bearer token for protected endpoints' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -l cacert -d 'Trust the CA certificates in this PEM file instead of the built-in roots' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -l timeout -d 'How long the server may take beyond the capture to connect, answer and send' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -l cum -d 'Sort by cumulative value'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -l insecure -d 'Do not verify the server\'s TLS certificate'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from top" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -s O -l output-file -d 'The SVG file to write' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -l base -d 'Draw a differential flame graph against this base profile' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -l sample-index -d 'Sample type to draw, by name or position' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -l type -d 'Which profile a service address resolves to' -r -f -a "cpu\t''
heap\t''
allocs\t''
goroutine\t''
block\t''
mutex\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -l seconds -d 'Capture length in seconds (CPU: default 30; other types: a delta profile)' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -l header -d 'Extra request header for protected endpoints (repeatable)' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -l token -d 'Bearer token for protected endpoints' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -l cacert -d 'Trust the CA certificates in this PEM file instead of the built-in roots' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -l timeout -d 'How long the server may take beyond the capture to connect, answer and send' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -l insecure -d 'Do not verify the server\'s TLS certificate'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from flamegraph" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -l sample-index -d 'Sample type to fold, by name or position' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -l type -d 'Which profile a service address resolves to' -r -f -a "cpu\t''
heap\t''
allocs\t''
goroutine\t''
block\t''
mutex\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -l seconds -d 'Capture length in seconds (CPU: default 30; other types: a delta profile)' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -l header -d 'Extra request header for protected endpoints (repeatable)' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -l token -d 'Bearer token for protected endpoints' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -l cacert -d 'Trust the CA certificates in this PEM file instead of the built-in roots' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -l timeout -d 'How long the server may take beyond the capture to connect, answer and send' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -l insecure -d 'Do not verify the server\'s TLS certificate'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from collapse" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -s O -l output-file -d 'The file to write (gzipped protobuf, as Go serves it)' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -l type -d 'Which profile a service address resolves to' -r -f -a "cpu\t''
heap\t''
allocs\t''
goroutine\t''
block\t''
mutex\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -l seconds -d 'Capture length in seconds (CPU: default 30; other types: a delta profile)' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -l header -d 'Extra request header for protected endpoints (repeatable)' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -l token -d 'Bearer token for protected endpoints' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -l cacert -d 'Trust the CA certificates in this PEM file instead of the built-in roots' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -l timeout -d 'How long the server may take beyond the capture to connect, answer and send' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -l insecure -d 'Do not verify the server\'s TLS certificate'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from save" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -l interval -d 'Time between goroutine profiles' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -l samples -d 'How many goroutine profiles to take (at least 2)' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -l header -d 'Extra request header for protected endpoints (repeatable)' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -l token -d 'Bearer token for protected endpoints' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -l cacert -d 'Trust the CA certificates in this PEM file instead of the built-in roots' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -l timeout -d 'How long the server may take beyond the capture to connect, answer and send' -r
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -l insecure -d 'Do not verify the server\'s TLS certificate'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from leaks" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "top" -d 'Functions by flat (or cumulative) value, as `go tool pprof -top` shows them'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "flamegraph" -d 'Write an SVG flame graph (a differential one with --base)'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "collapse" -d 'Print folded stacks (`root;caller;leaf VALUE`), for flame graph tools'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "save" -d 'Save a profile from a URL as it was served'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "leaks" -d 'Take goroutine profiles over time and report the stacks whose counts keep growing'
complete -c gantry -n "__fish_gantry_using_subcommand profile; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gantry -n "__fish_gantry_using_subcommand completions" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand completions" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand completions" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand completions" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand completions" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand completions" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand completions" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand generate-man" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand generate-man" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand generate-man" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand generate-man" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand generate-man" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand generate-man" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand generate-man" -s V -l version -d 'Print version'
complete -c gantry -n "__fish_gantry_using_subcommand help; and not __fish_seen_subcommand_from plugin infer forecast scale profile completions generate-man help" -f -a "plugin" -d 'Run, install and manage sandboxed WebAssembly plugins'
complete -c gantry -n "__fish_gantry_using_subcommand help; and not __fish_seen_subcommand_from plugin infer forecast scale profile completions generate-man help" -f -a "infer" -d 'Run an ONNX model inside the sandbox (tract), on JSON input tensors'
complete -c gantry -n "__fish_gantry_using_subcommand help; and not __fish_seen_subcommand_from plugin infer forecast scale profile completions generate-man help" -f -a "forecast" -d 'Forecast the peak load of a series with the bundled model, or backtest it against baselines'
complete -c gantry -n "__fish_gantry_using_subcommand help; and not __fish_seen_subcommand_from plugin infer forecast scale profile completions generate-man help" -f -a "scale" -d 'Scale deployments, statefulsets, replicasets or any resource with /scale, and watch them to readiness'
complete -c gantry -n "__fish_gantry_using_subcommand help; and not __fish_seen_subcommand_from plugin infer forecast scale profile completions generate-man help" -f -a "profile" -d 'Capture and read pprof profiles: top, diffs, flame graphs, goroutine leak checks'
complete -c gantry -n "__fish_gantry_using_subcommand help; and not __fish_seen_subcommand_from plugin infer forecast scale profile completions generate-man help" -f -a "completions" -d 'Print a shell completion script'
complete -c gantry -n "__fish_gantry_using_subcommand help; and not __fish_seen_subcommand_from plugin infer forecast scale profile completions generate-man help" -f -a "generate-man" -d 'Write the man pages into a directory'
complete -c gantry -n "__fish_gantry_using_subcommand help; and not __fish_seen_subcommand_from plugin infer forecast scale profile completions generate-man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gantry -n "__fish_gantry_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "run" -d 'Run a plugin (installed, built-in, or a .wasm file) as a command'
complete -c gantry -n "__fish_gantry_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "install" -d 'Install a plugin from a .wasm file (with NAME.toml beside it if its manifest is not embedded)'
complete -c gantry -n "__fish_gantry_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "list" -d 'List installed and built-in plugins'
complete -c gantry -n "__fish_gantry_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "info" -d 'Show a plugin\'s manifest, checksum and effective limits'
complete -c gantry -n "__fish_gantry_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "remove" -d 'Remove an installed plugin'
complete -c gantry -n "__fish_gantry_using_subcommand help; and __fish_seen_subcommand_from plugin" -f -a "new" -d 'Create a Rust plugin project in a new directory NAME'
complete -c gantry -n "__fish_gantry_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "top" -d 'Functions by flat (or cumulative) value, as `go tool pprof -top` shows them'
complete -c gantry -n "__fish_gantry_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "flamegraph" -d 'Write an SVG flame graph (a differential one with --base)'
complete -c gantry -n "__fish_gantry_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "collapse" -d 'Print folded stacks (`root;caller;leaf VALUE`), for flame graph tools'
complete -c gantry -n "__fish_gantry_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "save" -d 'Save a profile from a URL as it was served'
complete -c gantry -n "__fish_gantry_using_subcommand help; and __fish_seen_subcommand_from profile" -f -a "leaks" -d 'Take goroutine profiles over time and report the stacks whose counts keep growing'
