module github.com/extism/go-pdk

go 1.24
