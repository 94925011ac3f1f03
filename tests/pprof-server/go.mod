module gantry.test/pprof-server

go 1.22
