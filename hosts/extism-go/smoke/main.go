// The extism-go driver's self-test: it plays polyplug's runner (the kv store behind
// host functions, an HTTP server, a temp folder for WASI) against a built driver and
// the Rust, Go and JS plugins in a folder, then runs the driver's `call` CLI. Run it
// through ../smoke.sh.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

var (
	driverPath = flag.String("driver", "", "the built driver")
	plugins    = flag.String("plugins", "", "folder with rust/, go/, ... plugin artifacts")
	passed     int
	failed     int
)

func check(name string, ok bool, detail string) {
	if ok {
		passed++
		fmt.Printf("ok   %s\n", name)
	} else {
		failed++
		fmt.Printf("FAIL %s: %s\n", name, detail)
	}
}

// driver is one running driver process.
type driver struct {
	cmd *exec.Cmd
	in  *bufio.Writer
	out *bufio.Reader
	kv  map[string][]byte
}

func start() *driver {
	cmd := exec.Command(*driverPath)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Println("cannot start the driver:", err)
		os.Exit(1)
	}
	return &driver{cmd: cmd, in: bufio.NewWriter(stdin), out: bufio.NewReader(stdout), kv: map[string][]byte{}}
}

type reply map[string]any

// ask sends one request and returns its response, serving host_call on the way.
func (d *driver) ask(req map[string]any) reply {
	line, _ := json.Marshal(req)
	d.send(line)
	for {
		text, err := d.out.ReadBytes('\n')
		if err != nil {
			return reply{"ok": false, "error": map[string]any{"category": "driver-died", "message": err.Error()}}
		}
		var r reply
		if err := json.Unmarshal(text, &r); err != nil {
			return reply{"ok": false, "error": map[string]any{"category": "garbage", "message": string(text)}}
		}
		if os.Getenv("SMOKE_VERBOSE") != "" {
			fmt.Printf("     <- %.300s", text)
		}
		if r["op"] != "host_call" {
			return r
		}
		answer, _ := json.Marshal(d.serveKV(r))
		d.send(answer)
	}
}

func (d *driver) send(line []byte) {
	d.in.Write(line)
	d.in.WriteByte('\n')
	d.in.Flush()
}

// serveKV is the runner's side of kv_read(key) -> value and kv_write(key, value).
func (d *driver) serveKV(r reply) map[string]any {
	var args [][]byte
	raw, _ := json.Marshal(r["args_b64"])
	json.Unmarshal(raw, &args)
	switch {
	case r["name"] == "kv_read" && len(args) == 1:
		return map[string]any{"results_b64": [][]byte{d.kv[string(args[0])]}}
	case r["name"] == "kv_write" && len(args) == 2:
		d.kv[string(args[0])] = args[1]
		return map[string]any{"results_b64": [][]byte{}}
	}
	return map[string]any{"error": fmt.Sprintf("no host function %v/%d", r["name"], len(args))}
}

func (d *driver) stop() {
	d.cmd.Process.Kill()
	d.cmd.Wait()
}

func (d *driver) load(lang, spec string, extra map[string]any) bool {
	req := map[string]any{"op": "load", "wasm": filepath.Join(*plugins, lang, spec+".wasm"),
		"wasi": lang != "rust", "config": map[string]string{}, "allowed_hosts": []string{},
		"allowed_paths": map[string]string{}, "timeout_ms": 10000, "max_pages": nil,
		"log_level": "trace", "host_functions": []any{}}
	if spec == "wasi" {
		req["wasi"] = true
	}
	for k, v := range extra {
		req[k] = v
	}
	r := d.ask(req)
	if r["ok"] != true {
		check(lang+"/"+spec+" load", false, fmt.Sprint(r))
		return false
	}
	return true
}

func (d *driver) call(export, input string) reply {
	return d.ask(map[string]any{"op": "call", "export": export, "input_b64": []byte(input)})
}

func output(r reply) string {
	var b []byte
	raw, _ := json.Marshal(r["output_b64"])
	json.Unmarshal(raw, &b)
	return string(b)
}

func category(r reply) string {
	if e, ok := r["error"].(map[string]any); ok {
		return fmt.Sprint(e["category"])
	}
	return ""
}

func message(r reply) string {
	if e, ok := r["error"].(map[string]any); ok {
		return fmt.Sprint(e["message"])
	}
	return ""
}

func logs(r reply) string {
	var parts []string
	list, _ := r["logs"].([]any)
	for _, l := range list {
		m := l.(map[string]any)
		parts = append(parts, fmt.Sprintf("%v:%v", m["level"], m["message"]))
	}
	return strings.Join(parts, "|")
}

func results(r reply) string {
	b, _ := json.Marshal(r["results"])
	return string(b)
}

func expectOutput(name string, r reply, want string) {
	check(name, r["ok"] == true && output(r) == want, fmt.Sprintf("want %q, got %v", want, r))
}

func expectError(name string, r reply, categories ...string) {
	got := category(r)
	for _, c := range categories {
		if got == c {
			check(name, true, "")
			return
		}
	}
	check(name, false, fmt.Sprintf("want %v, got %v", categories, r))
}

func exists(lang, spec string) bool {
	_, err := os.Stat(filepath.Join(*plugins, lang, spec+".wasm"))
	return err == nil
}

func main() {
	flag.Parse()
	d := start()
	defer d.stop()

	r := d.ask(map[string]any{"op": "describe"})
	imports := fmt.Sprint(r["imports"])
	check("describe", r["ok"] == true && r["name"] == "extism-go" && r["raw_calls"] == true &&
		strings.Contains(imports, "http_headers") && strings.Contains(imports, "log_trace"), fmt.Sprint(r))

	// An HTTP server and a data folder, as the runner keeps them.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "hello over http")
	}))
	base := "http://" + ln.Addr().String()
	data, _ := os.MkdirTemp("", "extism-go-smoke")
	defer os.RemoveAll(data)
	os.WriteFile(filepath.Join(data, "hello.txt"), []byte("hello from a file\n"), 0o644)

	for _, lang := range []string{"rust", "go", "js"} {
		if !exists(lang, "hello") {
			continue
		}
		p := lang + "/"
		if d.load(lang, "hello", nil) {
			expectOutput(p+"hello greet Bob", d.call("greet", "Bob"), "Hello, Bob!")
			r := d.call("nope", "")
			expectError(p+"hello missing export", r, "missing-export")
		}
		if d.load(lang, "hello", map[string]any{"config": map[string]string{"greeting": "Howdy"}}) {
			expectOutput(p+"hello config greeting", d.call("greet", "Bob"), "Howdy, Bob!")
		}

		kv := []map[string]any{
			{"namespace": "extism:host/user", "name": "kv_read", "params": 1, "results": 1},
			{"namespace": "extism:host/user", "name": "kv_write", "params": 2, "results": 0},
		}
		if d.load(lang, "host-fns", map[string]any{"host_functions": kv}) {
			d.kv = map[string][]byte{}
			d.call("remember", "color=blue")
			expectOutput(p+"host-fns remember then recall", d.call("recall", "color"), "blue")
			check(p+"host-fns store holds the write", string(d.kv["color"]) == "blue", fmt.Sprint(d.kv))
			expectOutput(p+"host-fns recall missing", d.call("recall", "nothing-here"), "<missing>")
		}

		if d.load(lang, "errors", nil) {
			r := d.call("fail", "boom")
			check(p+"errors fail -> plugin-error", category(r) == "plugin-error" && message(r) == "failed: boom", fmt.Sprint(r))
			expectError(p+"errors panic", d.call("panic", "oops"), "trap", "exit", "plugin-error")
			r = d.call("fail", "after")
			check(p+"errors fail after panic", category(r) == "plugin-error" && message(r) == "failed: after", fmt.Sprint(r))
		}

		if d.load(lang, "limits", map[string]any{"timeout_ms": 200}) {
			expectError(p+"limits spin times out", d.call("spin", ""), "timeout")
			expectError(p+"limits spin times out again", d.call("spin", ""), "timeout")
		}
		if d.load(lang, "limits", map[string]any{"timeout_ms": 10000, "max_pages": 512}) {
			expectError(p+"limits grow hits memory limit", d.call("grow", ""), "memory-limit")
			expectError(p+"limits recurse exhausts the stack", d.call("recurse", ""), "trap", "memory-limit", "exit")
		}

		if d.load(lang, "log", nil) {
			r := d.call("log", "hi")
			want := "trace:trace: hi|debug:debug: hi|info:info: hi|warn:warn: hi|error:error: hi"
			check(p+"log all levels", r["ok"] == true && logs(r) == want, fmt.Sprint(r))
		}
		if d.load(lang, "log", map[string]any{"log_level": "warn"}) {
			r := d.call("log", "hi")
			check(p+"log warn and above", logs(r) == "warn:warn: hi|error:error: hi", fmt.Sprint(r))
		}

		if d.load(lang, "raw-add", nil) {
			r := d.ask(map[string]any{"op": "call_raw", "export": "add", "args": []any{map[string]int{"i32": 1}, map[string]int{"i32": 2}}})
			check(p+"raw-add 1+2", results(r) == "[{\"i32\":3}]", fmt.Sprint(r))
			r = d.ask(map[string]any{"op": "call_raw", "export": "add", "args": []any{map[string]int{"i32": 2147483647}, map[string]int{"i32": 1}}})
			check(p+"raw-add wraps", results(r) == "[{\"i32\":-2147483648}]", fmt.Sprint(r))
		}

		if d.load(lang, "count-vowels", nil) {
			d.call("count_vowels", "Hello, World!")
			r := d.call("count_vowels", "Hello, World!")
			expectOutput(p+"count-vowels total grows", r, `{"count":3,"total":6,"vowels":"aeiouAEIOU"}`)
		}

		if exists(lang, "wasi") && d.load(lang, "wasi", map[string]any{"allowed_paths": map[string]string{data: "/data"}}) {
			expectOutput(p+"wasi read_file", d.call("read_file", "/data/hello.txt"), "hello from a file\n")
			expectError(p+"wasi outside data", d.call("read_file", "/etc/hostname"), "plugin-error")
			expectError(p+"wasi dotdot escape", d.call("read_file", "/data/../etc/hostname"), "plugin-error")
		}

		if d.load(lang, "http", map[string]any{"allowed_hosts": []string{"127.0.0.1"}}) {
			expectOutput(p+"http fetch", d.call("fetch", base+"/text"), "200 hello over http")
		}
		if lang != "js" && exists(lang, "kitchen-sink") && d.load(lang, "kitchen-sink", map[string]any{"allowed_hosts": []string{"127.0.0.1"}}) {
			expectOutput(p+"kitchen-sink response header", d.call("http_header", base+"/text"),
				"200 content-type=text/plain hello over http")
		}
		if d.load(lang, "http", nil) {
			expectError(p+"http denied host", d.call("fetch", base+"/text"), "http-denied")
		}
	}

	// bench makes its own plugin; the loaded one must still answer afterwards.
	if exists("rust", "bytes") && d.load("rust", "hello", nil) {
		r := d.ask(map[string]any{"op": "bench", "wasm": filepath.Join(*plugins, "rust", "bytes.wasm"),
			"wasi": false, "export": "echo", "input_b64": []byte("hello"), "warm": 20, "fresh": 3})
		warm, _ := r["warm_ns"].(float64)
		fresh, _ := r["fresh_ns"].(float64)
		after := d.call("greet", "Bob")
		check("bench rust/bytes echo", r["ok"] == true && warm > 0 && fresh > 0 && output(after) == "Hello, Bob!",
			fmt.Sprint(r, after))
	}

	check("unload", d.ask(map[string]any{"op": "unload"})["ok"] == true, "")
	d.in.Flush()
	cli()

	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// cli checks `driver call`, the extism-call-like mode.
func cli() {
	run := func(stdin string, args ...string) (string, string, int) {
		cmd := exec.Command(*driverPath, append([]string{"call"}, args...)...)
		var out, errOut bytes.Buffer
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		if e, ok := err.(*exec.ExitError); ok {
			code = e.ExitCode()
		}
		return out.String(), errOut.String(), code
	}
	wasm := func(spec string) string { return filepath.Join(*plugins, "rust", spec+".wasm") }

	out, errOut, code := run("", wasm("hello"), "greet", "--input", "Bob", "--config", "greeting=Hi")
	check("cli greet", out == "Hi, Bob!\n" && code == 0, fmt.Sprintf("%q %q %d", out, errOut, code))
	out, _, code = run("Ann", "--stdin", wasm("hello"), "greet")
	check("cli --stdin", out == "Hello, Ann!\n" && code == 0, fmt.Sprintf("%q %d", out, code))
	out, _, code = run("", wasm("count-vowels"), "count_vowels", "--loop", "2", "-i", "aa")
	check("cli --loop", strings.Count(out, "\n") == 2 && strings.Contains(out, `"total":4`) && code == 0,
		fmt.Sprintf("%q %d", out, code))
	out, errOut, code = run("", wasm("errors"), "fail", "--input", "boom")
	check("cli plugin error", out == "" && code == 1 && errOut == "plugin-error: failed: boom\n",
		fmt.Sprintf("%q %q %d", out, errOut, code))
	_, errOut, code = run("", wasm("limits"), "spin", "--timeout", "200")
	check("cli --timeout", code == 1 && strings.HasPrefix(errOut, "timeout: "), fmt.Sprintf("%q %d", errOut, code))
	out, errOut, code = run("", wasm("log"), "log", "--input", "hi", "--log-level", "warn")
	check("cli --log-level", out == "done\n" && errOut == "[warn] warn: hi\n[error] error: hi\n" && code == 0,
		fmt.Sprintf("%q %q %d", out, errOut, code))
}
