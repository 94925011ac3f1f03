complete --keep-order --exclusive --command gantry --arguments "(COMPLETE=fish gantry -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
