
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
            cand completions 'Print a shell completion script'
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
        &'gantry;help'= {
            cand plugin 'Run, install and manage sandboxed WebAssembly plugins'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'gantry;help;plugin'= {
        }
        &'gantry;help;completions'= {
        }
        &'gantry;help;help'= {
        }
    ]
    $completions[$command]
}
