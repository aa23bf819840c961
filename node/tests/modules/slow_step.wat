;; Like echo_header.wat, but every step first counts to 30 million (tens
;; of milliseconds): an executor slower than its input.
(module
  (memory (export "memory") 2)
  (global $inited (mut i32) (i32.const 0))
  (func (export "fusion_abi_version") (result i32) (i32.const 1))
  (func (export "fusion_input_buffer") (param $len i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $len) (i32.const 65536))
      (then (i32.const 0))
      (else (i32.const 65536))))
  (func (export "fusion_init") (param $len i32) (result i32)
    (global.set $inited (i32.const 1))
    (i32.const 0))
  (func (export "fusion_step") (param $len i32) (result i64)
    (local $i i32)
    (if (i32.eqz (global.get $inited)) (then (return (i64.const -3))))
    (loop $spin
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spin (i32.lt_u (local.get $i) (i32.const 30000000))))
    (memory.copy (i32.const 512) (i32.const 65544) (i32.const 28))
    (i64.const 0x0000001c00000200))
  (func (export "fusion_last_error") (result i64) (i64.const 0)))
