;; Spec `hostile`: a plugin that abuses the Extism ABI the way no PDK would,
;; one export per abuse (docs/specs.md, docs/reliability.md). Every case must
;; end in its stated category while the host stays up for the next call.
(module
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "free" (func $free (param i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "error_set" (func $error_set (param i64)))
  (import "extism:host/env" "var_set" (func $var_set (param i64 i64)))
  (import "extism:host/env" "log_debug" (func $log_debug (param i64)))
  (import "extism:host/env" "http_request" (func $http_request (param i64 i64) (result i64)))
  (import "extism:host/user" "kv_read" (func $kv_read (param i64) (result i64)))
  (memory (export "memory") 1)

  (data (i32.const 0) "alloc returned 0")             ;; 0, 16
  (data (i32.const 16) "survived")                    ;; 16, 8
  (data (i32.const 32) "freed message")               ;; 32, 13
  (data (i32.const 48) "set")                         ;; 48, 3
  (data (i32.const 64) "big")                         ;; 64, 3
  (data (i32.const 80) "done")                        ;; 80, 4
  (data (i32.const 96) "freed output")                ;; 96, 12
  (data (i32.const 112) "{\"method\":\"GET\",\"url\":\"") ;; 112, 23
  (data (i32.const 144) "\"}")                        ;; 144, 2
  (data (i32.const 160) "key")                        ;; 160, 3

  ;; A handle no alloc returned: far past anything a test allocates.
  (global $forged i64 (i64.const 0x7fff0000))

  ;; A kernel block holding the `len` bytes at `ptr` of linear memory.
  (func $bytes (param $ptr i32) (param $len i32) (result i64)
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

  ;; A plugin error carrying the text at `ptr`.
  (func $fail (param $ptr i32) (param $len i32) (result i32)
    (call $error_set (call $bytes (local.get $ptr) (local.get $len)))
    (i32.const 1))

  ;; Success with the text at `ptr` as the output.
  (func $ok (param $ptr i32) (param $len i32) (result i32)
    (call $output_set
      (call $bytes (local.get $ptr) (local.get $len))
      (i64.extend_i32_u (local.get $len)))
    (i32.const 0))

  ;; 1 MiB blocks until the host refuses one (or stops the call).
  (func (export "alloc_loop") (result i32)
    (loop $more
      (br_if $more (i64.ne (call $alloc (i64.const 1048576)) (i64.const 0))))
    (call $fail (i32.const 0) (i32.const 16)))

  ;; One 64 MiB block, never written, set as the output.
  (func (export "output_64mib") (result i32)
    (local $h i64)
    (local.set $h (call $alloc (i64.const 67108864)))
    (if (i64.eqz (local.get $h))
      (then (return (call $fail (i32.const 0) (i32.const 16)))))
    (call $output_set (local.get $h) (i64.const 67108864))
    (i32.const 0))

  ;; var `big` set to 1 MiB + 1 bytes: one past the default max_var_bytes.
  (func (export "var_too_big") (result i32)
    (call $var_set
      (call $bytes (i32.const 64) (i32.const 3))
      (call $alloc (i64.const 1048577)))
    (call $ok (i32.const 48) (i32.const 3)))

  ;; 10^6 debug logs (below the case's log level, so none is kept). Each
  ;; gets its own block: the host frees a log message's handle.
  (func (export "log_million") (result i32)
    (local $i i32)
    (loop $more
      (call $log_debug (call $alloc (i64.const 4)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 1000000))))
    (call $ok (i32.const 80) (i32.const 4)))

  (func (export "error_set_forged") (result i32)
    (call $error_set (global.get $forged))
    (i32.const 1))

  (func (export "error_set_freed") (result i32)
    (local $h i64)
    (local.set $h (call $bytes (i32.const 32) (i32.const 13)))
    (call $free (local.get $h))
    (call $error_set (local.get $h))
    (i32.const 1))

  (func (export "free_forged") (result i32)
    (call $free (global.get $forged))
    (call $ok (i32.const 16) (i32.const 8)))

  (func (export "free_twice") (result i32)
    (local $h i64)
    (local.set $h (call $alloc (i64.const 16)))
    (call $free (local.get $h))
    (call $free (local.get $h))
    (call $ok (i32.const 16) (i32.const 8)))

  (func (export "output_set_forged") (result i32)
    (call $output_set (global.get $forged) (i64.const 16))
    (i32.const 0))

  (func (export "output_set_freed") (result i32)
    (local $h i64)
    (local.set $h (call $bytes (i32.const 96) (i32.const 12)))
    (call $free (local.get $h))
    (call $output_set (local.get $h) (i64.const 12))
    (i32.const 0))

  (func (export "var_set_forged") (result i32)
    (call $var_set (global.get $forged) (global.get $forged))
    (call $ok (i32.const 16) (i32.const 8)))

  (func (export "var_set_freed") (result i32)
    (local $k i64) (local $v i64)
    (local.set $k (call $bytes (i32.const 64) (i32.const 3)))
    (local.set $v (call $bytes (i32.const 16) (i32.const 8)))
    (call $free (local.get $k))
    (call $free (local.get $v))
    (call $var_set (local.get $k) (local.get $v))
    (call $ok (i32.const 16) (i32.const 8)))

  ;; Outputs the input, copied 8 bytes at a time through the ABI.
  (func (export "echo") (result i32)
    (local $n i64) (local $h i64) (local $i i64)
    (local.set $n (call $input_length))
    (local.set $h (call $alloc (local.get $n)))
    (block $words
      (loop $word
        (br_if $words (i64.gt_u (i64.add (local.get $i) (i64.const 8)) (local.get $n)))
        (call $store_u64 (i64.add (local.get $h) (local.get $i))
          (call $input_load_u64 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 8)))
        (br $word)))
    (block $tail
      (loop $byte
        (br_if $tail (i64.ge_u (local.get $i) (local.get $n)))
        (call $store_u8 (i64.add (local.get $h) (local.get $i))
          (call $input_load_u8 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $byte)))
    (call $output_set (local.get $h) (local.get $n))
    (i32.const 0))

  ;; Calls the host's kv_read forever: only the call's timeout ends it.
  (func (export "host_fn_spin") (result i32)
    (local $k i64)
    (local.set $k (call $bytes (i32.const 160) (i32.const 3)))
    (loop $more
      (drop (call $kv_read (local.get $k)))
      (br $more))
    (i32.const 0))

  ;; Unbounded recursion with a host call at every level: the stack runs out
  ;; around (or inside) a host function.
  (func $deep (param $k i64) (result i64)
    (i64.add
      (call $kv_read (local.get $k))
      (call $deep (local.get $k))))
  (func (export "host_fn_recurse") (result i32)
    (drop (call $deep (call $bytes (i32.const 160) (i32.const 3))))
    (i32.const 0))

  ;; GET the input URL; the body is the output.
  (func (export "fetch") (result i32)
    (local $n i64) (local $req i64) (local $i i64) (local $res i64)
    (local.set $n (call $input_length))
    (local.set $req (call $alloc (i64.add (local.get $n) (i64.const 25))))
    (loop $prefix
      (call $store_u8 (i64.add (local.get $req) (local.get $i))
        (i32.load8_u (i32.add (i32.const 112) (i32.wrap_i64 (local.get $i)))))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $prefix (i64.lt_u (local.get $i) (i64.const 23))))
    (local.set $i (i64.const 0))
    (block $url
      (loop $byte
        (br_if $url (i64.ge_u (local.get $i) (local.get $n)))
        (call $store_u8 (i64.add (local.get $req) (i64.add (i64.const 23) (local.get $i)))
          (call $input_load_u8 (local.get $i)))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $byte)))
    (call $store_u8 (i64.add (local.get $req) (i64.add (i64.const 23) (local.get $n))) (i32.const 34))
    (call $store_u8 (i64.add (local.get $req) (i64.add (i64.const 24) (local.get $n))) (i32.const 125))
    (local.set $res (call $http_request (local.get $req) (i64.const 0)))
    (call $output_set (local.get $res) (call $length (local.get $res)))
    (i32.const 0))
)
