module polyplug.dev/plugins

go 1.24

require github.com/extism/go-pdk v1.1.3

// The in-repo PDK stands in for the official one, which this project's
// module proxy cannot serve. Delete this line to build against the official PDK.
