// Deprecated: use example.com/new instead.
module example.com/old

go 1.21

toolchain go1.22.1

require (
	github.com/a/b v1.2.3
	github.com/c/d v0.0.0-20200101000000-abcdefabcdef // indirect
	"github.com/quoted/e" v2.0.0+incompatible
	`github.com/raw/f` v1.0.0-rc.1
)

exclude github.com/a/b v1.2.2

replace github.com/a/b v1.2.3 => github.com/fork/b v1.2.4

replace github.com/local/x => ./x

retract (
	// Published accidentally.
	v1.0.0
	[v1.1.0, v1.1.5] // Broken build.
)

godebug default=go1.21
