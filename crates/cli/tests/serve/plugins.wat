;; The plugin `polyplug serve`'s tests serve: one export per behaviour a server
;; must answer for. Strings live in the data segment and are copied into kernel
;; memory by $str.
(module
  (import "extism:host/env" "input_offset" (func $in (result i64)))
  (import "extism:host/env" "input_length" (func $len (result i64)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "load_u8" (func $load_u8 (param i64) (result i32)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "var_get" (func $var_get (param i64) (result i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
  (import "extism:host/env" "log_info" (func $log_info (param i64)))
  (memory (export "memory") 1)
  (data (i32.const 0) "n")
  (data (i32.const 16) "the plugin says no")
  (data (i32.const 48) "hello from the plugin")
  (data (i32.const 80) "VERSION")

  ;; A kernel-memory block holding guest bytes [ptr, ptr+len).
  (func $str (param $ptr i32) (param $len i32) (result i64)
    (local $h i64) (local $i i32)
    (local.set $h (call $alloc (i64.extend_i32_u (local.get $len))))
    (block $done
      (loop $copy
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (call $store_u8
          (i64.add (local.get $h) (i64.extend_i32_u (local.get $i)))
          (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $copy)))
    (local.get $h))

  (func (export "echo") (result i32)
    (call $out (call $in) (call $len))
    (i32.const 0))

  (func (export "fail") (result i32)
    (call $error_set (call $str (i32.const 16) (i32.const 18)))
    (i32.const 1))

  (func (export "spin") (result i32)
    (loop $forever (br $forever))
    (i32.const 0))

  ;; 64 MiB more memory, as for a 64 MiB output: over the server's default limit.
  (func (export "big_output") (result i32)
    (drop (memory.grow (i32.const 1024)))
    (call $out (i64.const 0) (i64.const 67108864))
    (i32.const 0))

  (func (export "trap") (result i32)
    unreachable)

  (func (export "log") (result i32)
    (call $log_info (call $str (i32.const 48) (i32.const 21)))
    (i32.const 0))

  ;; Two digits: a byte of guest memory and a var, each read then bumped. A
  ;; fresh instance per request answers "00" every time.
  (func (export "visit") (result i32)
    (local $m i32) (local $v i64) (local $n i32) (local $h i64)
    (local.set $m (i32.load8_u (i32.const 200)))
    (i32.store8 (i32.const 200) (i32.add (local.get $m) (i32.const 1)))
    ;; var_get and var_set free their key (as the official kernel does): one key each.
    (local.set $v (call $var_get (call $str (i32.const 0) (i32.const 1))))
    (if (i64.ne (local.get $v) (i64.const 0))
      (then (local.set $n (call $load_u8 (local.get $v)))))
    (local.set $h (call $alloc (i64.const 1)))
    (call $store_u8 (local.get $h) (i32.add (local.get $n) (i32.const 1)))
    (call $var_set (call $str (i32.const 0) (i32.const 1)) (local.get $h))
    (local.set $h (call $alloc (i64.const 2)))
    (call $store_u8 (local.get $h) (i32.add (i32.const 48) (local.get $m)))
    (call $store_u8 (i64.add (local.get $h) (i64.const 1)) (i32.add (i32.const 48) (local.get $n)))
    (call $out (local.get $h) (i64.const 2))
    (i32.const 0))

  ;; Busy for a while (a few hundred ms), then answers "VERSION": the tests
  ;; replace VERSION to tell modules apart.
  (func (export "work") (result i32)
    (local $i i32)
    (block $done
      (loop $count
        (br_if $done (i32.ge_u (local.get $i) (i32.const 400000000)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $count)))
    (call $out (call $str (i32.const 80) (i32.const 7)) (i64.const 7))
    (i32.const 0)))
