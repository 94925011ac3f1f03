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
complete -c gantry -n "__fish_gantry_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c gantry -n "__fish_gantry_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c gantry -n "__fish_gantry_using_subcommand plugin" -l color -d 'When to use colours (NO_COLOR in the environment means never, unless `always`)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin" -s o -l output -d 'Output format: tables for people, JSON with a stable schema for machines' -r -f -a "table\t''
json\t''"
complete -c gantry -n "__fish_gantry_using_subcommand plugin" -l config -d 'Configuration file [default: $XDG_CONFIG_HOME/gantry/config.toml]' -r -F
complete -c gantry -n "__fish_gantry_using_subcommand plugin" -s v -l verbose -d 'More detail (repeat for more); plugin logs appear from -v on'
complete -c gantry -n "__fish_gantry_using_subcommand plugin" -s q -l quiet -d 'Only errors'
complete -c gantry -n "__fish_gantry_using_subcommand plugin" -s h -l help -d 'Print help'
complete -c gantry -n "__fish_gantry_using_subcommand plugin" -s V -l version -d 'Print version'
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
complete -c gantry -n "__fish_gantry_using_subcommand help; and not __fish_seen_subcommand_from plugin completions help" -f -a "plugin" -d 'Run, install and manage sandboxed WebAssembly plugins'
complete -c gantry -n "__fish_gantry_using_subcommand help; and not __fish_seen_subcommand_from plugin completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c gantry -n "__fish_gantry_using_subcommand help; and not __fish_seen_subcommand_from plugin completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
